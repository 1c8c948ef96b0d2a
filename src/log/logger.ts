import { redact } from '../redact/index.js';

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** What library code logs through. Silent unless the caller passes one. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Logs nothing. The default everywhere. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Wraps a logger so every line passes through {@link redact} first: library code can then log
 * an error's message without checking it for secrets.
 */
export function redactingLogger(logger: Logger = silentLogger): Logger {
  return {
    debug: (m) => logger.debug(redact(m)),
    info: (m) => logger.info(redact(m)),
    warn: (m) => logger.warn(redact(m)),
    error: (m) => logger.error(redact(m)),
  };
}

/** A logger writing `[level] message` lines to a function (e.g. stderr), at `minLevel` and above. */
export function lineLogger(write: (line: string) => void, minLevel: LogLevel = 'info'): Logger {
  const order: LogLevel[] = ['debug', 'info', 'warn', 'error'];
  const at = (level: LogLevel) => (message: string) => {
    if (order.indexOf(level) >= order.indexOf(minLevel)) write(`[${level}] ${redact(message)}\n`);
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
