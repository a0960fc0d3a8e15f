import { type Clock, checkClock } from '../clock.js';
import { InvalidOptionError } from '../errors.js';
import { debugLogger, type Logger } from '../logger.js';
import type { InterfaceProvider } from '../network/interfaces.js';
import type { IPv6InterfaceProvider } from '../network/interfaces6.js';
import { compileInterfacePattern, type InterfaceMatcher } from '../network/select.js';
import { compileLinkPattern, type LinkMatcher } from '../network/select6.js';
import type { SocketFactory } from '../network/socket.js';
import {
  checkBoolean,
  checkDuration,
  checkInteger,
  checkPort,
  checkSafeText,
  checkStringList,
  checkText,
  defaultAnnouncePort,
  type Env,
  envBoolean,
  envInEffect,
  envInteger,
  envList,
  envSecondsAsMs,
  envValue,
  warnOnce,
  warnUnknownEnvNames,
} from '../options.js';
import { Limits } from '../protocol/extended.js';
import type { FernetKey } from '../protocol/fernet.js';
import { DEFAULT_DISCOVERY_PORT, DEFAULT_MESSAGE, DEFAULT_PREFIX } from '../protocol/plain.js';
import { checkAuthKey, checkFernetKey } from '../security/keys.js';
import { DEFAULT_REPLAY_WINDOW_MS } from '../security/replay-guard.js';
import { DEFAULT_SCAN_RATE, MAX_SCAN_RATE, parseScan, type ScanRange } from './scan-plan.js';
import { parseTarget, type Target } from './targets.js';
import type { TraceEvent } from './trace.js';

/**
 * Options of {@link discover}, {@link discoverOne} and {@link discoverStream}. Each falls back to
 * the original client's environment variable, then to its default. Unknown `DISCOVERY_*`
 * variables (typos such as `DISCOVERY_CLIENT_TIMOUT`) are logged as warnings through `logger`.
 */
export interface DiscoverOptions {
  /** UDP port the responders listen on. Env `DISCOVERY_CLIENT_PORT`, then `DISCOVERY_PORT`. @default 9999 */
  port?: number;
  /** The request to send. Env `DISCOVERY_CLIENT_MESSAGE`, then `DISCOVERY_MESSAGE`. @default 'DISCOVER_SERVER' */
  message?: string;
  /** Expected reply prefix. Env `DISCOVERY_CLIENT_RESPONSE_PREFIX`, then `RESPONSE_PREFIX`. @default 'SERVER_IP:' */
  prefix?: string;
  /**
   * Total deadline in milliseconds, however much traffic arrives. Env `DISCOVERY_CLIENT_TIMEOUT`
   * (in seconds, as in the original). Under 50 ms logs a warning: no server can answer in time,
   * so seconds were probably meant (`timeout: 2` is 2 ms). @default 2000
   */
  timeout?: number;
  /** Re-sends after the first request, with backoff, inside the deadline. Env `DISCOVERY_CLIENT_RETRIES`. @default 5 */
  retries?: number;
  /**
   * Which IP family to ask over: `IPv4` (broadcast, the IPv4 group, IPv4 targets), `IPv6` (the
   * IPv6 group on each link, IPv6 targets), or `any`, both in the same run (docs/ipv6.md). IPv6
   * asks with the extended request, so Fernet mode (`encryption`), the original's, is IPv4 only,
   * and so is a plain run with a custom `message` or `prefix` (the extended request carries no
   * message): `'IPv6'` with either throws, and so does an address target of a family the run
   * does not ask. @default 'any'
   */
  family?: 'any' | 'IPv4' | 'IPv6';
  /**
   * Interfaces to ask on: names, globs (`veth*`), IPv4 CIDRs or IPv6 CIDRs (`fd00::/64`: the
   * interfaces holding such an address). Loopback and link-local interfaces are used only when
   * a pattern names them. A pattern that matches no interface
   * that is up is logged as a warning and traced (`unmatched-pattern`). Env
   * `DISCOVERY_CLIENT_INTERFACES_WHITELIST` (comma-separated). @default every interface that is up
   */
  interfaces?: readonly string[];
  /** Interfaces not to use, same patterns. Env `DISCOVERY_CLIENT_INTERFACES_BLACKLIST`. */
  exclude?: readonly string[];
  /**
   * Extra unicast targets: IPv4 addresses, IPv6 addresses (`::1`, `fd00::5`, `fe80::5%eth0`),
   * host names (both families) or IPv4 CIDRs up to /22.
   */
  targets?: readonly string[];
  /**
   * Subnet scan (docs/beyond-one-lan.md): probe every address of these IPv4 ranges by unicast,
   * one request each, at `scanRate`: CIDRs of at most a /16 (`10.20.0.0/16`) or single
   * addresses, 262,144 addresses in all. The segments nearest this host go first. Without a
   * `timeout`, the run lasts until every address is probed, plus 1 s. `'auto'`: when nothing
   * answered after 1 s (or half the timeout) and the segmented-network check fires for an interface
   * asked on, scan its subnet (at most the /16 around its address). Results found so have
   * `via: 'scan'`. Env `DISCOVERY_CLIENT_SUBNET_RANGES` (comma-separated CIDRs), and
   * `DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN` (true: `'auto'`). @default no scan
   */
  scan?: 'auto' | string | readonly string[];
  /**
   * Scan probes per second, 1 to 10,000. A range on the subnet of one of this host's
   * interfaces goes at most a quarter of the neighbour table a second (256 with Linux's
   * default), or the kernel would drop probes. @default 1000
   */
  scanRate?: number;
  /**
   * Ask on the selected interfaces (IPv4 broadcast, and both multicast groups); false sends to
   * `targets` only. @default true
   */
  broadcast?: boolean;
  /** Keep replies whose claimed IP differs from the packet's source (marked `foreign`). @default false */
  acceptForeignAddresses?: boolean;
  /** Stop after this many distinct servers. @default 1000 */
  maxResults?: number;
  /**
   * Receive buffer of each socket, in bytes, so that a burst of replies (hundreds of servers
   * answering one broadcast at once) waits in the kernel instead of being dropped. The kernel
   * caps it at `net.core.rmem_max` (often 212992, which gives 416 KiB); 0 keeps the system
   * default. See docs/performance.md. @default 1048576
   */
  receiveBufferSize?: number;
  /**
   * Fernet mode, the original's encrypted mode. Env `DISCOVERY_CLIENT_ENCRYPTION_ENABLED`, then
   * `DISCOVERY_ENCRYPTION_ENABLED`. @default false
   */
  encryption?: boolean;
  /** The Fernet key. Env `DISCOVERY_CLIENT_SECRET_KEY`, then `DISCOVERY_SECRET_KEY`. */
  secretKey?: string;
  /**
   * In Fernet mode, refuse replies whose token is older (or newer) than `replayWindow`, and the
   * same token twice. @default true
   */
  replayProtection?: boolean;
  /**
   * Clock difference tolerated for Fernet replies, either way, in milliseconds. A reply outside
   * it is dropped with a warning naming the server and its skew (at most once a minute per
   * server) and a `clock-skew` trace event. @default 300000
   */
  replayWindow?: number;
  /** The time source for request tokens and the replay window. @default the system clock */
  clock?: Clock;
  /**
   * Ask with beckon's extended request, and get each server's metadata. Old servers do not answer
   * it. Implied by `service` and `authKey`. @default false
   */
  extended?: boolean;
  /** Only servers of this service answer (extended request). */
  service?: string;
  /**
   * Shared key: requests are signed with it and only answers signed with it are believed.
   * Env `DISCOVERY_CLIENT_AUTH_KEY`, then the first of `DISCOVERY_AUTH_KEYS`.
   */
  authKey?: string;
  /**
   * Report a server only once it works (docs/presence.md): `'tcp'`, its advertised URL accepts a
   * TCP connection; `'http'`, it answers an HTTP request (any status). Checked within 1 s. A
   * watcher checks again every `pollInterval` and reports a server that stops `down`
   * (`unreachable`), even while its UDP responder still answers. @default none
   */
  verify?: 'tcp' | 'http';
  /**
   * The port announcements arrive on (docs/presence.md): a run also hears them, so that a server
   * that starts while it runs is found. @default the discovery port minus 1 (9998)
   */
  announcePort?: number;
  /** Aborts discovery; the promise rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Where warnings go. @default a `util.debuglog('beckon')` logger */
  logger?: Logger;
  /**
   * Receives the run's decision trace: interfaces used and skipped, each send, each reply and
   * what became of it. The same events go to the `beckon:discover` diagnostics channel.
   */
  trace?: (event: TraceEvent) => void;
  /** Environment to read settings from. @default process.env */
  env?: Env;
  /** Creates UDP sockets. @default dgram.createSocket */
  socketFactory?: SocketFactory;
  /** Lists local IPv4 interfaces. @default listInterfaces */
  interfaceProvider?: InterfaceProvider;
  /** Lists local IPv6 addresses. @default listIPv6Interfaces */
  interfaceProvider6?: IPv6InterfaceProvider;
}

/** Client settings after options, environment and defaults. */
export interface DiscoverSettings {
  readonly port: number;
  readonly message: string;
  readonly prefix: string;
  readonly timeout: number;
  readonly retries: number;
  readonly family: 'any' | 'IPv4' | 'IPv6';
  readonly include: readonly InterfaceMatcher[];
  readonly exclude: readonly InterfaceMatcher[];
  /** The same patterns, for IPv6 links. */
  readonly includeLinks: readonly LinkMatcher[];
  readonly excludeLinks: readonly LinkMatcher[];
  readonly targets: readonly Target[];
  /** The subnet scan: its ranges, `'auto'`, or none. */
  readonly scan: 'auto' | readonly ScanRange[] | undefined;
  /** Scan probes per second. */
  readonly scanRate: number;
  /** Whether `timeout` was given (option or variable): a scan then stops at it. */
  readonly timeoutGiven: boolean;
  readonly broadcast: boolean;
  readonly acceptForeignAddresses: boolean;
  /** Report a server only once its URL accepts a connection (`tcp`) or answers HTTP (`http`). */
  readonly verify: 'tcp' | 'http' | undefined;
  /** Where announcements arrive. */
  readonly announcePort: number;
  readonly maxResults: number;
  readonly receiveBufferSize: number;
  /** The request sent: the original's, a Fernet token of it, or beckon's extended request. */
  readonly mode: 'plain' | 'fernet' | 'extended';
  /**
   * Whether the run may send requests whose answers identify their server (the extended
   * request): always in extended mode; in plain mode only with the default message and prefix
   * (a custom one is how original deployments keep apart, and the extended request carries no
   * message); never in Fernet mode. IPv6 and the groups need it.
   */
  readonly identify: boolean;
  /** Whether replies must prove they come from a holder of the key (Fernet or `authKey`). */
  readonly authenticated: boolean;
  readonly service: string | undefined;
  readonly replayProtection: boolean;
  readonly replayWindow: number;
}

/** Keys of a discovery run; kept out of {@link DiscoverSettings} so that they are never printed. */
export interface DiscoverSecrets {
  readonly fernetKey: FernetKey | undefined;
  readonly authKey: Buffer | undefined;
}

const DEFAULT_RECEIVE_BUFFER_SIZE = 1 << 20;
const MAX_RECEIVE_BUFFER_SIZE = 1 << 30;

/**
 * Applies environment variables and defaults, and validates everything.
 *
 * @throws {InvalidOptionError} naming the option or variable, the value and what is allowed.
 */
export function resolveDiscoverSettings(
  options: DiscoverCallerOptions,
): DiscoverSettings & { secrets: DiscoverSecrets; clock: Clock } {
  const env = options.env ?? process.env;
  const list = (option: string, value: readonly string[] | undefined, variable: string) =>
    value === undefined ? (envList(env, variable) ?? []) : checkStringList(option, value);
  const include = list('interfaces', options.interfaces, 'DISCOVERY_CLIENT_INTERFACES_WHITELIST');
  const exclude = list('exclude', options.exclude, 'DISCOVERY_CLIENT_INTERFACES_BLACKLIST');
  const targets = options.targets === undefined ? [] : checkStringList('targets', options.targets);
  const encryptionVariable = envInEffect(
    env,
    'DISCOVERY_CLIENT_ENCRYPTION_ENABLED',
    'DISCOVERY_ENCRYPTION_ENABLED',
  );
  const encryption = checkBoolean(
    options.encryption === undefined ? encryptionVariable : 'encryption',
    options.encryption ?? envBoolean(env, encryptionVariable) ?? false,
  );
  const keyVariable = envInEffect(env, 'DISCOVERY_CLIENT_SECRET_KEY', 'DISCOVERY_SECRET_KEY');
  const fernetKey = encryption
    ? checkFernetKey(
        options.secretKey === undefined ? keyVariable : 'secretKey',
        options.secretKey ?? envValue(env, keyVariable),
      )
    : undefined;
  // The client's own variable, else the current (first) key of the server's list.
  const authVariable = envInEffect(env, 'DISCOVERY_CLIENT_AUTH_KEY', 'DISCOVERY_AUTH_KEYS');
  const envAuthKey = envList(env, authVariable)?.[0];
  const authKey =
    options.authKey !== undefined
      ? checkAuthKey('authKey', options.authKey)
      : envAuthKey === undefined
        ? undefined
        : checkAuthKey(authVariable, envAuthKey);
  const service =
    options.service === undefined
      ? undefined
      : checkSafeText('service', options.service, Limits.text);
  const extended =
    checkBoolean('extended', options.extended ?? false) ||
    service !== undefined ||
    authKey !== undefined;
  const family = checkFamily(options.family);
  if (fernetKey && family === 'IPv6') {
    throw new InvalidOptionError(
      'family',
      family,
      "'any' or 'IPv4' with Fernet encryption: IPv6 asks with the extended request, and Fernet is the original's IPv4 mode",
    );
  }
  if (fernetKey && extended) {
    throw new InvalidOptionError(
      options.service !== undefined ? 'service' : options.extended ? 'extended' : 'authKey',
      options.service ?? options.extended ?? '<redacted>',
      'Fernet encryption or the extended protocol (a service filter or an auth key), not both',
    );
  }
  // Port, message and prefix: the client's own variable, else the server's, so that one
  // environment (DISCOVERY_PORT=7777) configures both `beckon serve` and `beckon discover`.
  const portVariable = envInEffect(env, 'DISCOVERY_CLIENT_PORT', 'DISCOVERY_PORT');
  const messageVariable = envInEffect(env, 'DISCOVERY_CLIENT_MESSAGE', 'DISCOVERY_MESSAGE');
  const prefixVariable = envInEffect(env, 'DISCOVERY_CLIENT_RESPONSE_PREFIX', 'RESPONSE_PREFIX');
  const timeout = checkDuration(
    'timeout',
    options.timeout ?? envSecondsAsMs(env, 'DISCOVERY_CLIENT_TIMEOUT') ?? 2000,
  );
  const logger = options.logger ?? debugLogger;
  warnUnknownEnvNames(env, logger);
  if (timeout < SHORT_TIMEOUT_MS) warnOnce(logger, describeShortTimeout(timeout, options, env));
  const message = checkText(
    options.message === undefined ? messageVariable : 'message',
    options.message ?? envValue(env, messageVariable) ?? DEFAULT_MESSAGE,
    512,
  );
  const prefix = checkText(
    options.prefix === undefined ? prefixVariable : 'prefix',
    options.prefix ?? envValue(env, prefixVariable) ?? DEFAULT_PREFIX,
    64,
  );
  const identify =
    extended || (!fernetKey && message === DEFAULT_MESSAGE && prefix === DEFAULT_PREFIX);
  if (family === 'IPv6' && !identify) {
    throw new InvalidOptionError(
      'family',
      family,
      `'any' or 'IPv4' with a custom message or prefix: IPv6 asks with the extended request, which carries no message (keep beckon deployments apart with \`service\` instead)`,
    );
  }
  const parsedTargets = targets.map((t) => parseTarget('targets', t));
  checkTargetFamilies(parsedTargets, family, identify);
  const port =
    options.port === undefined
      ? envClientPort(env, portVariable, logger)
      : checkPort('port', options.port);
  const scan = resolveScan(options.scan, env);
  if (scan !== undefined && family === 'IPv6') {
    throw new InvalidOptionError(
      'family',
      family,
      "'any' or 'IPv4' with a subnet scan: a scan probes IPv4 addresses",
    );
  }
  return {
    port,
    message,
    prefix,
    timeout,
    retries: checkInteger(
      'retries',
      options.retries ?? envInteger(env, 'DISCOVERY_CLIENT_RETRIES', 0, 100) ?? 5,
      0,
      100,
    ),
    family,
    include: include.map((p) => compileInterfacePattern('interfaces', p)),
    exclude: exclude.map((p) => compileInterfacePattern('exclude', p)),
    includeLinks: include.map((p) => compileLinkPattern('interfaces', p)),
    excludeLinks: exclude.map((p) => compileLinkPattern('exclude', p)),
    targets: parsedTargets,
    scan,
    scanRate: checkInteger('scanRate', options.scanRate ?? DEFAULT_SCAN_RATE, 1, MAX_SCAN_RATE),
    timeoutGiven:
      options.timeout !== undefined || envValue(env, 'DISCOVERY_CLIENT_TIMEOUT') !== undefined,
    broadcast: checkBoolean('broadcast', options.broadcast ?? true),
    acceptForeignAddresses: checkBoolean(
      'acceptForeignAddresses',
      options.acceptForeignAddresses ?? false,
    ),
    maxResults: checkInteger('maxResults', options.maxResults ?? 1000, 1, 1_000_000),
    verify: checkVerify(options.verify),
    announcePort:
      options.announcePort === undefined
        ? defaultAnnouncePort(port)
        : checkPort('announcePort', options.announcePort),
    receiveBufferSize: checkInteger(
      'receiveBufferSize',
      options.receiveBufferSize ?? DEFAULT_RECEIVE_BUFFER_SIZE,
      0,
      MAX_RECEIVE_BUFFER_SIZE,
    ),
    mode: fernetKey ? 'fernet' : extended ? 'extended' : 'plain',
    identify,
    authenticated: fernetKey !== undefined || authKey !== undefined,
    service,
    replayProtection: checkBoolean('replayProtection', options.replayProtection ?? true),
    replayWindow: checkDuration('replayWindow', options.replayWindow ?? DEFAULT_REPLAY_WINDOW_MS),
    secrets: { fernetKey, authKey },
    clock: checkClock(options.clock),
  };
}

/**
 * The `scan` option, else `DISCOVERY_CLIENT_SUBNET_RANGES`, else
 * `DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN` (true: `'auto'`). The ranges variable with the enable
 * variable false scans nothing.
 */
function resolveScan(value: unknown, env: Env): 'auto' | ScanRange[] | undefined {
  if (value !== undefined) return parseScan('scan', value);
  const enable = envBoolean(env, 'DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN');
  const ranges = envList(env, 'DISCOVERY_CLIENT_SUBNET_RANGES');
  if (enable === false) return undefined;
  if (ranges !== undefined && ranges.length > 0) {
    return parseScan('DISCOVERY_CLIENT_SUBNET_RANGES', ranges);
  }
  return enable ? 'auto' : undefined;
}

const FAMILIES = ['any', 'IPv4', 'IPv6'] as const;

function checkVerify(value: unknown): 'tcp' | 'http' | undefined {
  if (value === undefined || value === 'tcp' || value === 'http') return value;
  throw new InvalidOptionError('verify', value, "'tcp' or 'http', or none");
}

/**
 * An address target of a family the run does not ask would be dropped in silence: refuse it.
 * IPv6 is not asked with `family: 'IPv4'`, in Fernet mode, or with a custom message (`identify`).
 */
function checkTargetFamilies(
  targets: readonly Target[],
  family: DiscoverSettings['family'],
  identify: boolean,
): void {
  for (const target of targets) {
    if (target.kind !== 'addresses') continue;
    const ipv6 = target.addresses.some((a) => a.includes(':'));
    if (!ipv6 && family === 'IPv6') {
      throw new InvalidOptionError('targets', target.text, "IPv6 addresses with family 'IPv6'");
    }
    if (ipv6 && (family === 'IPv4' || !identify)) {
      const why =
        family === 'IPv4'
          ? "family 'IPv4'"
          : 'Fernet encryption or a custom message or prefix (IPv6 asks with the extended request)';
      throw new InvalidOptionError(
        'targets',
        target.text,
        `IPv4 addresses or host names with ${why}`,
      );
    }
  }
}

function checkFamily(value: unknown): DiscoverSettings['family'] {
  if (value === undefined) return 'any';
  if (FAMILIES.includes(value as DiscoverSettings['family']))
    return value as DiscoverSettings['family'];
  throw new InvalidOptionError('family', value, "'any', 'IPv4' or 'IPv6'");
}

/** Below this, a timeout leaves no time for replies: almost surely seconds given as milliseconds. */
const SHORT_TIMEOUT_MS = 50;

/**
 * What a caller that is not a program (the CLI) adds to {@link DiscoverOptions} so that warnings
 * name what its user typed. Not exported from the package.
 */
export interface DiscoverCallerOptions extends DiscoverOptions {
  /**
   * How the user gave `timeout`, e.g. `--timeout 10ms`: the short-timeout warning then names it
   * rather than the library's `timeout` in milliseconds.
   */
  timeoutAsGiven?: string;
  /**
   * The caller explains, after the run, why no interface could be used (the CLI's "nothing
   * found" advice): the library's one-line warning for that case is logged at debug level.
   */
  explainsNoInterface?: boolean;
}

function describeShortTimeout(timeout: number, options: DiscoverCallerOptions, env: Env): string {
  const tooShort = 'too short for servers to answer';
  if (options.timeout === undefined) {
    const raw = envValue(env, 'DISCOVERY_CLIENT_TIMEOUT')?.trim() ?? '';
    if (/[a-z]$/i.test(raw)) {
      // A unit was written (10ms): the slip is not about the variable's unit.
      return `DISCOVERY_CLIENT_TIMEOUT=${raw} is ${tooShort}; did you mean ${timeout}s?`;
    }
    return (
      `DISCOVERY_CLIENT_TIMEOUT=${raw} is ${timeout} ms, ${tooShort}: the variable is in ` +
      `seconds (DISCOVERY_CLIENT_TIMEOUT=2 waits 2 s)`
    );
  }
  if (options.timeoutAsGiven !== undefined) {
    const given = options.timeoutAsGiven;
    const inMs = /ms$/i.test(given.trim()) ? '' : ` (${timeout} ms)`;
    return `${given}${inMs} is ${tooShort}; did you mean ${timeout}s?`;
  }
  return (
    `timeout: ${timeout} ms is ${tooShort}: did you mean ${timeout} s (timeout: ${timeout * 1000})? ` +
    'The library takes milliseconds'
  );
}

/**
 * The port from the environment: the client's variable, else the server's. The server's 0 (any
 * free port) cannot be asked: the default is asked instead, with a warning, as before the
 * fallback existed.
 */
function envClientPort(env: Env, variable: string, logger: Logger): number {
  const port = envInteger(env, variable, variable === 'DISCOVERY_PORT' ? 0 : 1, 65535);
  if (port === 0) {
    warnOnce(
      logger,
      `DISCOVERY_PORT=0 (any free port) tells a server where to listen, not a client where to ask: asking ${DEFAULT_DISCOVERY_PORT}; set DISCOVERY_CLIENT_PORT or port`,
    );
  }
  return port || DEFAULT_DISCOVERY_PORT;
}
