/** Turning flag strings into checked values; every failure is a {@link UsageError}. */
import { MAX_DELAY_MS, parseSeconds } from '../options.js';
import { parseJitter } from '../responder/options.js';
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

/** A number-of-seconds flag (> 0, at most about 24 days), returned in milliseconds. */
export function secondsFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseSeconds(value);
  if (ms === undefined) {
    throw new UsageError(
      `--${flag} must be a number of seconds greater than 0 and at most ${MAX_DELAY_MS / 1000}, got "${value}"`,
    );
  }
  return ms;
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

/** `--reply-jitter MIN-MAX` (or `MAX`), in milliseconds. */
export function jitterFlag(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const jitter = parseJitter(value);
  if (!jitter) {
    throw new UsageError(
      `--reply-jitter must be MIN-MAX milliseconds with MIN <= MAX <= 10000, e.g. 20-120, got "${value}"`,
    );
  }
  return jitter;
}

/** Repeated `KEY=VALUE` flags as an object (the value may contain `=`). */
export function metaFlag(values: readonly string[]): Record<string, string> {
  // fromEntries defines own properties, so even a key named "__proto__" is kept as given.
  return Object.fromEntries(
    values.map((item) => {
      const at = item.indexOf('=');
      if (at <= 0) throw new UsageError(`--meta must be KEY=VALUE, got "${item}"`);
      return [item.slice(0, at), item.slice(at + 1)];
    }),
  );
}

/** Drops undefined entries so that unset flags fall back to the environment. */
export function defined<T extends object>(
  values: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
