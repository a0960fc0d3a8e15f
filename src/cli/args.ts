/** Turning flag strings into checked values; every failure is a {@link UsageError}. */
import { UsageError } from './io.js';

/** An integer flag in `[min, max]`. */
export function intFlag(
  flag: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(number) || number < min || number > max) {
    throw new UsageError(`--${flag} must be an integer from ${min} to ${max}, got "${value}"`);
  }
  return number;
}

/** A number-of-seconds flag (> 0), returned in milliseconds. */
export function secondsFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seconds = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw new UsageError(`--${flag} must be a number of seconds greater than 0, got "${value}"`);
  }
  return Math.round(seconds * 1000);
}

/** A non-negative number flag. */
export function rateFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isFinite(number)) {
    throw new UsageError(
      `--${flag} must be a number of replies per second (0 = no limit), got "${value}"`,
    );
  }
  return number;
}
