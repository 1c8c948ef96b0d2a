export { silentLogger, redactingLogger, lineLogger } from './logger.js';
export type { Logger, LogLevel } from './logger.js';
