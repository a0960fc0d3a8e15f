/**
 * Validation and environment parsing shared by the responder, the client and the CLI.
 * Every failure throws an {@link InvalidOptionError} naming the option, the value and what is
 * allowed.
 */
import { InvalidOptionError } from './errors.js';
import { isSafeText } from './protocol/extended.js';

/** An environment to read settings from; `process.env` by default. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Reads `name` from `env`; empty or blank values count as unset, as in the original. */
export function envValue(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value;
}

/**
 * The first of `names` that is set in `env`, else the last: the variable a setting is read from
 * when a client name falls back to a server name, so that errors name the right one.
 */
export function envInEffect(env: Env, ...names: [string, ...string[]]): string {
  return names.find((name) => envValue(env, name) !== undefined) ?? names[names.length - 1] ?? '';
}

/** An integer in `[min, max]`. */
export function checkInteger(option: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(option, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** A UDP/TCP port, 1..65535 (0 too when `allowZero`, meaning "any free port"). */
export function checkPort(option: string, value: unknown, allowZero = false): number {
  return checkInteger(option, value, allowZero ? 0 : 1, 65535);
}

/** The longest delay Node's timers support (about 24.8 days); longer ones fire at once. */
export const MAX_DELAY_MS = 2_147_483_647;

/** A duration in milliseconds: greater than 0, at most {@link MAX_DELAY_MS}. */
export function checkDuration(option: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0) || value > MAX_DELAY_MS) {
    throw new InvalidOptionError(
      option,
      value,
      `milliseconds, greater than 0 and at most ${MAX_DELAY_MS}`,
    );
  }
  return value;
}

/** A non-empty string of at most `maxBytes` UTF-8 bytes. */
export function checkText(option: string, value: unknown, maxBytes: number): string {
  if (typeof value !== 'string' || value.length === 0 || Buffer.byteLength(value) > maxBytes) {
    throw new InvalidOptionError(option, value, `a non-empty string of at most ${maxBytes} bytes`);
  }
  return value;
}

/**
 * A text that travels to other hosts and gets printed there: non-empty, at most `maxBytes`
 * UTF-8 bytes, no control or bidi-override characters.
 */
export function checkSafeText(option: string, value: unknown, maxBytes: number): string {
  if (typeof value !== 'string' || !isSafeText(value, maxBytes)) {
    throw new InvalidOptionError(
      option,
      value,
      `a non-empty string of at most ${maxBytes} bytes without control characters`,
    );
  }
  return value;
}

/** A boolean. */
export function checkBoolean(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(option, value, 'true or false');
  return value;
}

/** An array of non-empty strings. */
export function checkStringList(option: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.trim() !== '')) {
    throw new InvalidOptionError(option, value, 'an array of non-empty strings');
  }
  return value.map((v: string) => v.trim());
}

const INTEGER = /^\s*[+]?\d+\s*$/;
const DECIMAL = /^\s*[+]?(\d+(\.\d*)?|\.\d+)\s*$/;

/** An integer environment variable in `[min, max]`, or undefined when unset. */
export function envInteger(env: Env, name: string, min: number, max: number): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const value = INTEGER.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, raw, `an integer from ${min} to ${max}`);
  }
  return value;
}

/** A duration in seconds (the original's unit) returned in milliseconds. */
export function envSecondsAsMs(env: Env, name: string): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const ms = parseSeconds(raw);
  if (ms === undefined) {
    throw new InvalidOptionError(name, raw, 'a number of seconds greater than 0, e.g. 1.5');
  }
  return ms;
}

/** Seconds as text (`1.5`) to milliseconds, or undefined unless 0 < ms <= {@link MAX_DELAY_MS}. */
export function parseSeconds(text: string): number | undefined {
  const ms = DECIMAL.test(text) ? Math.round(Number(text) * 1000) : Number.NaN;
  return ms > 0 && ms <= MAX_DELAY_MS ? ms : undefined;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

/** A boolean environment variable (true/1/yes/on, false/0/no/off, any case). */
export function envBoolean(env: Env, name: string): boolean | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const word = raw.trim().toLowerCase();
  if (TRUE.has(word)) return true;
  if (FALSE.has(word)) return false;
  throw new InvalidOptionError(name, raw, 'true/false, 1/0, yes/no or on/off');
}

/** A comma-separated list; blank items are dropped. */
export function envList(env: Env, name: string): string[] | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
