export { WindowedCounterTable } from './windowed-counter-table.js';
export type { WindowedCounterTableOptions, WindowCount } from './windowed-counter-table.js';
