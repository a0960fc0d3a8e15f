/** Turning flag strings into checked values; every failure is a {@link UsageError}. */
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors.js';
import { DURATION_ALLOWED, parsePositiveDuration } from '../options.js';
import { MAX_JITTER_MS, parseJitter } from '../responder/options.js';
import { closestMatch } from '../suggest.js';
import { UsageError } from './io.js';

/** A command's flags, as `util.parseArgs` takes them. */
export type FlagConfig = NonNullable<ParseArgsConfig['options']>;

/** The values {@link parseFlags} returns for the flags `O`. */
export type Flags<O extends FlagConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>
>['values'];

/**
 * A command's flags from its arguments (`util.parseArgs`, strict, no positionals). An unknown flag
 * is a {@link UsageError} that suggests the closest one: "Unknown option --jsn. Did you mean
 * --json?".
 */
export function parseFlags<const O extends FlagConfig>(args: string[], options: O): Flags<O> {
  checkUnknownFlags(args, options);
  return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
}

function checkUnknownFlags(args: string[], options: FlagConfig): void {
  const { tokens } = parseArgs({
    args,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const names = Object.keys(options);
  for (const token of tokens) {
    if (token.kind !== 'option' || Object.hasOwn(options, token.name)) continue;
    const typed = (args[token.index] ?? token.rawName).split('=')[0] ?? '';
    // "-json" is read as -j -s -o -n: the user meant the long flag.
    const singleDash = /^-[^-]{2,}$/.test(typed);
    const shown = singleDash ? typed : token.rawName;
    const guess = closestMatch(singleDash ? typed.slice(1) : token.name, names);
    throw new UsageError(
      `Unknown option ${shown}.${guess === undefined ? '' : ` Did you mean --${guess}?`}`,
    );
  }
}

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

/**
 * A duration flag (`--timeout 2`, `--timeout 500ms`): bare numbers are seconds, as in the
 * original's variables. Returned in milliseconds, greater than 0 and at most about 24 days.
 */
export function durationFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = parsePositiveDuration(value);
  if (ms === undefined)
    throw new UsageError(`--${flag} must be ${DURATION_ALLOWED}, got "${value}"`);
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

/**
 * `--reply-jitter MIN-MAX` (or `MAX`), read as `DISCOVERY_REPLY_JITTER` is ({@link parseJitter}):
 * bare numbers are milliseconds, units on either side (`20ms-120ms`, `20-120ms`, `0-1s`).
 */
export function jitterFlag(value: string | undefined): [number, number] | undefined {
  if (value === undefined) return undefined;
  const jitter = parseJitter(value);
  if (!jitter) {
    throw new UsageError(
      `--reply-jitter must be MIN-MAX milliseconds (or with units: 20ms-120ms, 0-1s) with MIN <= MAX <= ${MAX_JITTER_MS} ms, e.g. 20-120, got "${value}"`,
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

/**
 * Runs `build`, which hands flag values to the library. An {@link InvalidOptionError} about an
 * option that came from a flag the user typed is re-thrown naming that flag:
 * "Invalid --advertise-address" rather than "Invalid advertiseAddress". `flagOf` maps library
 * option names to flag names; `values` are the parsed flags (an option whose flag is unset came
 * from the environment or a default, and keeps its name).
 */
export function withFlagNames<T>(
  values: Readonly<Record<string, unknown>>,
  flagOf: Readonly<Record<string, string>>,
  build: () => T,
): T {
  const rename = (error: unknown): never => {
    // A list option names its item: authKeys[1] is the second --auth-key.
    const [, option = '', index] =
      /^(.*?)(?:\[(\d+)\])?$/.exec(error instanceof InvalidOptionError ? error.option : '') ?? [];
    if (error instanceof InvalidOptionError && Object.hasOwn(flagOf, option)) {
      const flag = flagOf[option] as string;
      const given = values[flag];
      const nth = Array.isArray(given) && given.length > 1 && index ? ` #${Number(index) + 1}` : '';
      if (given !== undefined) throw error.withOption(`--${flag}${nth}`);
    }
    throw error;
  };
  try {
    const result = build();
    return (result instanceof Promise ? result.catch(rename) : result) as T;
  } catch (error) {
    return rename(error);
  }
}
