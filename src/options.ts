/**
 * Validation and environment parsing shared by the responder, the client and the CLI.
 * Every failure throws an {@link InvalidOptionError} naming the option, the value and what is
 * allowed.
 */
import { parseDuration } from './duration.js';
import { InvalidOptionError } from './errors.js';
import type { Logger } from './logger.js';
import { isSafeText } from './protocol/extended.js';
import { closestMatches } from './suggest.js';

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

/** The default of `interfacePollInterval` (responder and watcher), in milliseconds. */
export const DEFAULT_INTERFACE_POLL_MS = 2000;
const MAX_INTERFACE_POLL_MS = 3_600_000;

/**
 * `interfacePollInterval` of a responder or a watcher: whole milliseconds from 100 to an hour,
 * or 0, which means `zeroMeans` (said in the error).
 *
 * @throws {InvalidOptionError} naming the option, the value and what is allowed.
 */
export function checkInterfacePollInterval(value: unknown, zeroMeans: string): number {
  const ms = value ?? DEFAULT_INTERFACE_POLL_MS;
  if (
    typeof ms !== 'number' ||
    !Number.isInteger(ms) ||
    (ms !== 0 && ms < 100) ||
    ms > MAX_INTERFACE_POLL_MS
  ) {
    throw new InvalidOptionError(
      'interfacePollInterval',
      ms,
      `whole milliseconds from 100 to ${MAX_INTERFACE_POLL_MS}, or 0 ${zeroMeans}`,
    );
  }
  return ms;
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

/**
 * A duration variable in milliseconds: a number of seconds (the original's unit, `1.5`) or a
 * number with a unit (`500ms`, `2s`, `1m`), as the CLI's duration flags take.
 */
export function envSecondsAsMs(env: Env, name: string): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const ms = parsePositiveDuration(raw);
  if (ms === undefined) throw new InvalidOptionError(name, raw, DURATION_ALLOWED);
  return ms;
}

/** What a duration variable or flag accepts, for messages. */
export const DURATION_ALLOWED = `a number of seconds (1.5) or a number with a unit: ms, s, m or h (500ms, 2s, 1m), greater than 0 and at most ${MAX_DELAY_MS / 1000} s`;

/**
 * A duration as text ({@link parseDuration}; bare numbers are seconds) in milliseconds, or
 * undefined unless 0 < ms <= {@link MAX_DELAY_MS}.
 */
export function parsePositiveDuration(text: string): number | undefined {
  const ms = parseDuration(text);
  return ms !== undefined && ms > 0 && ms <= MAX_DELAY_MS ? ms : undefined;
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

/**
 * Every environment variable the client and the responder read (each side also knows the
 * other's, as both may share one environment), plus one of the original's that beckon accepts
 * and ignores as the original did: `DISCOVERY_TIMEOUT`.
 * test/options.test.ts checks that every `DISCOVERY_*` name in src/ is listed.
 */
export const ENV_NAMES: readonly string[] = [
  'DISCOVERY_PORT',
  'DISCOVERY_MESSAGE',
  'RESPONSE_PREFIX',
  'DISCOVERY_BUFFER_SIZE',
  'DISCOVERY_TIMEOUT',
  'ENABLE_LOGGING',
  'DISCOVERY_ENCRYPTION_ENABLED',
  'DISCOVERY_SECRET_KEY',
  'DISCOVERY_AUTH_KEYS',
  'DISCOVERY_REPLY_JITTER',
  'DISCOVERY_JOIN_GROUPS',
  'DISCOVERY_OFF_LINK',
  'DISCOVERY_CLIENT_PORT',
  'DISCOVERY_CLIENT_MESSAGE',
  'DISCOVERY_CLIENT_RESPONSE_PREFIX',
  'DISCOVERY_CLIENT_TIMEOUT',
  'DISCOVERY_CLIENT_RETRIES',
  'DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN',
  'DISCOVERY_CLIENT_SUBNET_RANGES',
  'DISCOVERY_CLIENT_INTERFACES_WHITELIST',
  'DISCOVERY_CLIENT_INTERFACES_BLACKLIST',
  'DISCOVERY_CLIENT_ENCRYPTION_ENABLED',
  'DISCOVERY_CLIENT_SECRET_KEY',
  'DISCOVERY_CLIENT_AUTH_KEY',
  'DISCOVERY_REGISTRY',
  'DISCOVERY_REGISTRY_CA',
  'DISCOVERY_REGISTRY_CERT',
  'DISCOVERY_REGISTRY_KEY',
];

/** An environment variable beckon does not read although its name says it is meant for it. */
export interface UnknownEnvName {
  readonly name: string;
  /** The known names it was probably meant to be, closest first (at most two). */
  readonly suggestions: readonly string[];
}

const KNOWN = new Set(ENV_NAMES);
const OURS = /^DISCOVERY_/i;

/**
 * Names in `env` that look meant for beckon but that it does not read: every unknown
 * `DISCOVERY_*` name (in any case, since names are case-sensitive), and any name within a
 * typo of a known one (`RESPONSE_PREFX`, `DISCOVRY_PORT`). The original refused unknown
 * setting names; a typo here would otherwise be silently ignored.
 */
export function findUnknownEnvNames(env: Env): UnknownEnvName[] {
  const found: UnknownEnvName[] = [];
  for (const name of Object.keys(env)) {
    if (KNOWN.has(name) || env[name] === undefined) continue;
    const suggestions = suggestEnvNames(name);
    if (OURS.test(name) || suggestions.length > 0) found.push({ name, suggestions });
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Known names `name` was probably meant to be (at most two): a side's prefix slipped, a typo, or cut short. */
function suggestEnvNames(name: string): string[] {
  const upper = name.toUpperCase();
  // A side mixed up: a client setting without CLIENT_, a server setting given a DISCOVERY_.
  const sides = [
    upper.replace(/^DISCOVERY_/, 'DISCOVERY_CLIENT_'),
    upper.replace(/^DISCOVERY_/, ''),
  ];
  const swapped = ENV_NAMES.filter((known) => sides.includes(known));
  // Names are long: a typo is a few edits, not a third of the name as for flags.
  const typos = closestMatches(upper, ENV_NAMES, 2, Math.max(2, Math.floor(upper.length / 8)));
  // A name cut short or run on: DISCOVERY_CLIENT_SECRET for DISCOVERY_CLIENT_SECRET_KEY.
  const cut = OURS.test(upper)
    ? ENV_NAMES.filter((known) => known.startsWith(upper) || upper.startsWith(known))
    : [];
  return [...new Set([...swapped, ...typos, ...cut])].slice(0, 2);
}

/** The warning for one unknown name. */
export function describeUnknownEnvName({ name, suggestions }: UnknownEnvName): string {
  const hint =
    suggestions.length > 0
      ? `did you mean ${suggestions.join(' or ')}?`
      : 'the README (Configuration) lists the names beckon reads';
  return `Unknown environment variable ${name}, ignored: ${hint}`;
}

// Warnings already given, per logger, so that resolving the same options again (the CLI
// checks them before discovering; an integration before each listen) or polling discover()
// does not repeat them.
const warned = new WeakMap<Logger, Set<string>>();

/** Logs `message` as a warning, unless this logger was given the very same warning before. */
export function warnOnce(logger: Logger, message: string): void {
  let said = warned.get(logger);
  if (!said) {
    said = new Set();
    warned.set(logger, said);
  }
  if (said.has(message)) return;
  said.add(message);
  logger.warn(message);
}

/** Warns (once per logger) about each environment variable of {@link findUnknownEnvNames}. */
export function warnUnknownEnvNames(env: Env, logger: Logger): void {
  for (const unknown of findUnknownEnvNames(env)) warnOnce(logger, describeUnknownEnvName(unknown));
}

/** The announcement port that goes with discovery port `port`: one below it (9998 for 9999). */
export function defaultAnnouncePort(port: number): number {
  return port > 1 ? port - 1 : 2;
}
