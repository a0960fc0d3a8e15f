import type { Logger } from '../logger.js';

/** Anything with pino-style or Nest-style level methods. */
export interface LevelLogger {
  debug?(message: string): unknown;
  info?(message: string): unknown;
  log?(message: string): unknown;
  warn(message: string): unknown;
  error(message: string): unknown;
}

/** Adapts a host framework's logger (Fastify's pino, Nest's Logger) to beckon's {@link Logger}. */
export function adaptLogger(host: LevelLogger): Logger {
  const info = (message: string) => void (host.info ?? host.log)?.call(host, message);
  return {
    debug: (message) => void (host.debug ?? host.info ?? host.log)?.call(host, message),
    info,
    warn: (message) => void host.warn(message),
    error: (message) => void host.error(message),
  };
}
