import { debuglog } from 'node:util';

/** A pino-shaped logger; every method takes a message (and may take more arguments). */
export interface Logger {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

const debug = debuglog('beckon');

/** The default logger: silent unless `NODE_DEBUG=beckon` is set. Never writes to stdout. */
export const debugLogger: Logger = {
  debug: (message) => debug(message),
  info: (message) => debug(message),
  warn: (message) => debug(`warning: ${message}`),
  error: (message) => debug(`error: ${message}`),
};

const off = () => {};

/** A logger that drops everything: for a second look at options whose warnings were given. */
export const silentLogger: Logger = { debug: off, info: off, warn: off, error: off };

/**
 * Wraps `logger` so that debug and info lines are dropped when `enabled` is false, as the
 * original's `ENABLE_LOGGING` did; warnings and errors always pass.
 */
export function gateLogger(logger: Logger, enabled: boolean): Logger {
  if (enabled) return logger;
  return {
    debug: off,
    info: off,
    warn: (m, ...r) => logger.warn(m, ...r),
    error: (m, ...r) => logger.error(m, ...r),
  };
}

/**
 * Logs where a throw would reach a socket event or a timer (and so the host process): a
 * logger that throws has nowhere left to report to, so its error is dropped.
 */
export function logSafely(logger: Logger, level: keyof Logger, message: string): void {
  try {
    logger[level](message);
  } catch {
    // nowhere left to report to
  }
}
