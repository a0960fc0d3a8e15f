import { InvalidOptionError } from './errors.js';

/**
 * Where beckon reads the wall-clock time: token timestamps, replay windows, how often a warning
 * may repeat. Injected (the `clock` option) so that tests can skew or advance time without
 * waiting; timers still run in real time.
 */
export interface Clock {
  /** Milliseconds since the epoch, as `Date.now()`. */
  now(): number;
}

/** The system clock. */
const systemClock: Clock = { now: () => Date.now() };

/**
 * The `clock` option: an object with a `now()` method, or the system clock when undefined.
 *
 * @throws {InvalidOptionError} for anything else.
 */
export function checkClock(value: unknown): Clock {
  if (value === undefined) return systemClock;
  if (typeof value !== 'object' || value === null || typeof (value as Clock).now !== 'function') {
    throw new InvalidOptionError(
      'clock',
      value,
      'an object whose now() returns milliseconds since the epoch',
    );
  }
  return value as Clock;
}
