export { systemClock, skewedClock, serverTimeFromDateHeader } from './clock.js';
export type { Clock } from './clock.js';
export { sleep } from './sleep.js';
export { ServerTimeEstimate } from './server-time.js';
export type { ServerTimeBounds } from './server-time.js';
