export { runDemo } from './run-demo.js';
export type { DemoOptions } from './run-demo.js';
export type { DemoSummary } from './demo-summary.js';
export { renderTimelineSvg } from './timeline-svg.js';
