import { randomUUID } from 'node:crypto';
import { type Clock, checkClock } from '../clock.js';
import { parseDurationRange } from '../duration.js';
import { InvalidOptionError } from '../errors.js';
import type { HostChannelTransport } from '../host/transport.js';
import { debugLogger, type Logger } from '../logger.js';
import type { InterfaceProvider } from '../network/interfaces.js';
import type { IPv6InterfaceProvider } from '../network/interfaces6.js';
import { type Cidr, parseCidr, parseIPv4 } from '../network/ipv4.js';
import {
  classifyIPv6,
  formatIPv6,
  type IPv6Cidr,
  mappedIPv4,
  parseIPv6,
  parseIPv6Cidr,
} from '../network/ipv6.js';
import type { SocketFactory } from '../network/socket.js';
import {
  checkBoolean,
  checkDuration,
  checkInteger,
  checkInterfacePollInterval,
  checkPort,
  checkSafeText,
  checkText,
  defaultAnnouncePort,
  type Env,
  envBoolean,
  envInteger,
  envList,
  envValue,
  warnUnknownEnvNames,
} from '../options.js';
import {
  isSafeText,
  Limits,
  MAX_LEASE_MS,
  SCHEME,
  type ServerMetadata,
} from '../protocol/extended.js';
import {
  DEFAULT_DISCOVERY_PORT,
  DEFAULT_MESSAGE,
  DEFAULT_PREFIX,
  DEFAULT_REQUEST_BUFFER_SIZE,
  encodeReply,
} from '../protocol/plain.js';
import { type RegistryOption, type RegistrySettings, resolveRegistry } from '../registry/config.js';
import { checkAuthKeys, checkFernetKey } from '../security/keys.js';
import { DEFAULT_REPLAY_WINDOW_MS } from '../security/replay-guard.js';
import type { ResponderSecrets } from './protocol.js';
import { OFF_LINK_POLICIES, type OffLinkPolicy } from './sender-policy.js';

/**
 * Options of {@link createResponder}. Each falls back to its environment variable, then its
 * default. Unknown `DISCOVERY_*` variables (typos) are logged as warnings through `logger`.
 */
export interface ResponderOptions {
  /** UDP port to listen on; 0 picks a free one. Env `DISCOVERY_PORT`. @default 9999 */
  port?: number;
  /** HTTP port to advertise (`SERVER_IP:ip:port`); without it the reply has no port, as the original's. */
  httpPort?: number;
  /**
   * The request to answer, compared byte for byte: 1 to 512 bytes, as the original answers. A
   * message shorter than a third of the longest reply draws a warning at start (see
   * docs/security.md). Env `DISCOVERY_MESSAGE`. @default 'DISCOVER_SERVER'
   */
  message?: string;
  /** Reply prefix. Env `RESPONSE_PREFIX`. @default 'SERVER_IP:' */
  prefix?: string;
  /** Bytes of each datagram compared, as the original's read size. Env `DISCOVERY_BUFFER_SIZE`. @default 1024 */
  bufferSize?: number;
  /**
   * Local address to bind. Only 0.0.0.0 receives broadcasts and the IPv4 group on Linux: with
   * another address the responder joins no group and binds no IPv6 socket. @default '0.0.0.0'
   */
  bindAddress?: string;
  /**
   * Which address families to answer on. `'any'`: besides the IPv4 socket, an IPv6 socket
   * (`ipv6Only`) on `[::]` and the same port answers extended requests over IPv6, sent to it or
   * to the group `ff12::6265:636b` (the plain and Fernet formats are IPv4 only); when the host
   * has no IPv6, one warning is logged and the responder runs on IPv4. Only with `bindAddress`
   * 0.0.0.0. `'IPv4'`: IPv4 only, as before. `'IPv6'`: the IPv6 socket only (no IPv4 socket;
   * `bindAddress` must stay 0.0.0.0); a host without IPv6 fails to start. See docs/ipv6.md.
   * @default 'any'
   */
  family?: ResponderFamily;
  /**
   * How often the interface list is read to join beckon's multicast groups on interfaces that
   * appeared and leave those that went away, in milliseconds; 0 joins once, at start.
   * @default 2000
   */
  interfacePollInterval?: number;
  /**
   * Join beckon's multicast groups (`239.255.98.107` on the IPv4 socket, `ff12::6265:636b` on
   * the IPv6 one) on every interface, so that requests sent to them are answered. Off: broadcast
   * and unicast only, no IGMP/MLD reports from this responder, and announcements on loopback
   * only. Env `DISCOVERY_JOIN_GROUPS`. @default true
   */
  joinGroups?: boolean;
  /**
   * Share the discovery port with the host's other beckon services (docs/many-services.md): the
   * first responder on the host answers for all of them; a later one whose port is taken hands
   * its record to it over a host-local channel (`role` `'registered'`) and takes the port over if
   * that process goes away. Not in Fernet mode, nor with a custom `message` or `prefix` (the
   * answering process would answer with its own). Off: a taken port fails the start, as before.
   * @default true
   */
  shareHost?: boolean;
  /**
   * Announce this server (docs/presence.md): at start, when its addresses change and when a
   * watcher asks, and say goodbye when it stops, to `announcePort` on every link it joined its
   * groups on (with `joinGroups: false`, on loopback only). Answers then carry its `lease`. Off:
   * nothing is sent unasked, and watchers poll this server. Always off in Fernet mode (an
   * announcement in the clear would tell everyone the server is there). @default true
   */
  announce?: boolean;
  /**
   * How long a watcher may believe this server is there without hearing from it, in
   * milliseconds (1,000 to 86,400,000). A server killed without a goodbye goes `down` at
   * watchers about this long after it was last heard. @default 15000
   */
  lease?: number;
  /** The port watchers hear announcements on. @default the discovery port minus 1 (9998) */
  announcePort?: number;
  /** Advertise this address to everyone instead of the one in each requester's subnet. */
  advertiseAddress?: string;
  /**
   * The one address the advertised service listens on, when it does not listen on all of them
   * (an HTTP server bound to 127.0.0.1, to one LAN address, or to `::1` or another IPv6 address).
   * Only requesters that would be sent this address are answered; the others are dropped as
   * `unreachable` (so an IPv6 address here leaves IPv4 requesters unanswered, and the reverse).
   * `0.0.0.0` and `::` mean all.
   */
  serviceAddress?: string;
  /**
   * CIDRs answered besides loopback and on-link requesters, e.g. a routed office subnet: IPv4
   * (`10.20.0.0/16`) or IPv6 (`fd00::/8`, a bare address as /128; no zone).
   */
  allow?: readonly string[];
  /**
   * Requesters behind a router (outside every local subnet, and not in `allow`). `'private'`:
   * answer those with a private address (IPv4 RFC 1918: 10/8, 172.16/12, 192.168/16; IPv6
   * unique-local fc00::/7), so that a subnet scan from another segment finds this server, at
   * most {@link OFF_LINK_RATE_PER_SOURCE} reply per second per source (after a burst of
   * {@link OFF_LINK_BURST}) and
   * {@link OFF_LINK_RATE_TOTAL} per second for all of them together. `'none'`: answer none of
   * them (on-link, loopback and `allow` only). Public and carrier-grade NAT (100.64/10) off-link
   * senders are never answered unless `allow` covers them. See docs/security.md. Env
   * `DISCOVERY_OFF_LINK`. @default 'private'
   */
  offLink?: OffLinkPolicy;
  /**
   * Wait a random time in `[min, max]` milliseconds before each reply, as mDNS does (20-120),
   * so that a large fleet answering one broadcast does not arrive in a single burst. Env
   * `DISCOVERY_REPLY_JITTER` (`MIN-MAX`). Off by default: it delays every discovery by up to
   * `max`. At most 4,096 replies wait at a time; more are dropped as `rate-limited`. See
   * docs/performance.md. @default [0, 0]
   */
  replyJitter?: readonly [min: number, max: number];
  /** Replies per second per source address (burst of the same size); 0 turns the limit off. @default 20 */
  rateLimit?: number;
  /**
   * Fernet mode, the original's encrypted mode: only requests encrypted with `secretKey` are
   * answered, and answers are encrypted. Env `DISCOVERY_ENCRYPTION_ENABLED`. @default false
   */
  encryption?: boolean;
  /** The Fernet key (44 characters of URL-safe base64, e.g. from `beckon keygen`). Env `DISCOVERY_SECRET_KEY`. */
  secretKey?: string;
  /**
   * Shared keys for authenticated discovery (first = current; more during a rotation). Only
   * extended requests signed with one of them are answered, and each answer is signed with the
   * key of its request. Env `DISCOVERY_AUTH_KEYS` (comma-separated).
   */
  authKeys?: readonly string[];
  /**
   * In Fernet mode, refuse tokens older (or newer) than `replayWindow` and tokens already
   * answered. Off reproduces the original, which accepts replays. Authenticated mode always
   * does this. @default true
   */
  replayProtection?: boolean;
  /**
   * How far a request's timestamp may be from this host's clock, either way, in milliseconds.
   * Five minutes, as Kerberos tolerates, since hosts without time sync drift; a request outside
   * it is refused with a warning naming the sender and its skew. @default 300000
   */
  replayWindow?: number;
  /** Service name in extended answers; extended requests for another service are not answered. */
  service?: string;
  /** Display name in extended answers. */
  name?: string;
  /** Stable id in extended answers. @default a random UUID per responder */
  instanceId?: string;
  /** The application's version, in extended answers. */
  version?: string;
  /** URL scheme of the advertised service, in extended answers. @default 'http' */
  scheme?: string;
  /** Up to 8 small key/value pairs for extended answers (keys up to 32 bytes, values up to 128). */
  metadata?: Readonly<Record<string, string>>;
  /**
   * Register this service in a registry (docs/registry.md), for clients beyond this LAN: an
   * etcd URL (`etcd://host:2379`, `etcd://user:password@h1:2379,h2:2379/prefix/`, `etcds://`
   * for TLS) or an object `{ url | endpoints, username?, password?, tls?, prefix?, lease? }`.
   * The record is kept under an etcd lease (default: `lease`, at least 2 s), rewritten when
   * the host's addresses change, signed when `authKeys` are set, and deleted (after a goodbye)
   * on stop. An unreachable registry is a warning; answering on the LAN is not affected. Needs
   * the `etcd3` package (`npm install etcd3`). Env `DISCOVERY_REGISTRY` (TLS files:
   * `DISCOVERY_REGISTRY_CA`, `_CERT`, `_KEY`).
   */
  registry?: RegistryOption;
  /** Debug and info logging; warnings and errors are always logged. Env `ENABLE_LOGGING`. @default true */
  logging?: boolean;
  /** Where log lines go. @default a `util.debuglog('beckon')` logger (`NODE_DEBUG=beckon`) */
  logger?: Logger;
  /**
   * Answer in a worker thread of its own instead of on the host app's event loop, so that a
   * flood on the discovery port takes no time from the app's thread. It pays off when the
   * machine has a core to spare, and costs about 30 MiB. Events, logs and the
   * `beckon:responder` channel still reach this thread, but each relayed `reply` or `drop` is
   * a message to it: listen to them only when needed (a new channel subscriber is noticed
   * within a second). Not with `socketFactory`, `interfaceProvider`, `interfaceProvider6`,
   * `hostChannel` or `clock` (functions cannot move into a thread). See docs/performance.md.
   * @default false
   */
  worker?: boolean;
  /** Stops the responder when aborted. */
  signal?: AbortSignal;
  /**
   * The time source for token timestamps, the replay window and how often refusals are logged.
   * Not with `worker`. @default the system clock
   */
  clock?: Clock;
  /** Environment to read settings from. @default process.env */
  env?: Env;
  /** Creates the UDP socket. @default dgram.createSocket */
  socketFactory?: SocketFactory;
  /** Lists local interfaces. @default listInterfaces */
  interfaceProvider?: InterfaceProvider;
  /** Lists local IPv6 addresses. @default listIPv6Interfaces */
  interfaceProvider6?: IPv6InterfaceProvider;
  /**
   * What carries the host-local channel of `shareHost` (docs/many-services.md): an object with
   * `listen(path, onConnection, onError)` and `connect(path)`. For tests and simulations only:
   * `beckon/testing` gives each simulated host its own in-memory channel. Not with `worker`.
   * @default Unix domain sockets (node:net)
   */
  hostChannel?: HostChannelTransport;
}

/** Which address families a responder answers on: see {@link ResponderOptions.family}. */
export type ResponderFamily = 'any' | 'IPv4' | 'IPv6';

/**
 * Replies per second to each private off-link source: see `offLink`. With a burst of
 * {@link OFF_LINK_BURST}, so that one discovery run (a plain and an extended request, or a
 * scan's probe and the request that identifies the server) is answered in full.
 */
export const OFF_LINK_RATE_PER_SOURCE = 1;
/** The burst of {@link OFF_LINK_RATE_PER_SOURCE}. */
export const OFF_LINK_BURST = 4;
/** Replies per second to all private off-link sources together (burst of the same size). */
export const OFF_LINK_RATE_TOTAL = 20;

/** The default of {@link ResponderOptions.lease}, in milliseconds. */
export const DEFAULT_LEASE_MS = 15_000;

/** The responder's settings after defaults and environment were applied. */
export interface ResponderSettings {
  readonly port: number;
  readonly httpPort: number | undefined;
  readonly message: string;
  readonly prefix: string;
  readonly bufferSize: number;
  readonly bindAddress: string;
  /** `'any'`: also answers extended requests over IPv6 (when bound to 0.0.0.0); `'IPv6'`: only. */
  readonly family: ResponderFamily;
  /** Milliseconds between interface polls for group memberships; 0: at start only. */
  readonly interfacePollInterval: number;
  /** Whether the sockets join beckon's multicast groups. */
  readonly joinGroups: boolean;
  /** Whether the port is shared with the host's other beckon services (see `shareHost`). */
  readonly shareHost: boolean;
  /** Whether this server announces itself and says goodbye (docs/presence.md). */
  readonly announce: boolean;
  /** Milliseconds a watcher may believe this server without hearing from it. */
  readonly lease: number;
  /** Where announcements go; undefined: the bound discovery port minus 1. */
  readonly announcePort: number | undefined;
  readonly advertiseAddress: string | undefined;
  readonly serviceAddress: string | undefined;
  readonly allow: readonly string[];
  /** Whether private off-link senders are answered (under the off-link limits). */
  readonly offLink: OffLinkPolicy;
  readonly rateLimit: number;
  /** Random delay before each reply, `[min, max]` in milliseconds; `[0, 0]` when off. */
  readonly replyJitter: readonly [number, number];
  readonly logging: boolean;
  /** Which requests are answered: see {@link ResponderOptions.encryption} and `authKeys`. */
  readonly mode: 'plain' | 'fernet' | 'authenticated';
  readonly replayProtection: boolean;
  readonly replayWindow: number;
  /** Whether the responder answers in a worker thread. */
  readonly worker: boolean;
  /** What extended answers say about this server. */
  readonly metadata: ServerMetadata;
  /** The registry this server registers in, as it may be shown (no password); undefined: none. */
  readonly registry: string | undefined;
}

/**
 * Applies environment variables and defaults, and validates everything.
 *
 * @throws {InvalidOptionError} naming the option or variable, the value and what is allowed.
 */
export function resolveResponderSettings(options: ResponderOptions): ResponderSettings & {
  allowCidrs: Cidr[];
  allowCidrs6: IPv6Cidr[];
  secrets: ResponderSecrets;
  clock: Clock;
  /** The registry's full settings (with credentials), kept out of the public `settings`. */
  registryConfig: RegistrySettings | undefined;
  /** The `hostChannel` option, checked; undefined: Unix domain sockets. */
  hostChannel: HostChannelTransport | undefined;
} {
  const env = options.env ?? process.env;
  warnUnknownEnvNames(env, options.logger ?? debugLogger);
  const port = checkPort(
    'port',
    options.port ?? envInteger(env, 'DISCOVERY_PORT', 0, 65535) ?? DEFAULT_DISCOVERY_PORT,
    true,
  );
  const message = checkText(
    'message',
    options.message ?? envValue(env, 'DISCOVERY_MESSAGE') ?? DEFAULT_MESSAGE,
    512,
  );
  const prefix = checkText(
    'prefix',
    options.prefix ?? envValue(env, 'RESPONSE_PREFIX') ?? DEFAULT_PREFIX,
    64,
  );
  const bufferSize = checkInteger(
    options.bufferSize === undefined ? 'DISCOVERY_BUFFER_SIZE' : 'bufferSize',
    options.bufferSize ??
      envInteger(env, 'DISCOVERY_BUFFER_SIZE', 1, 65535) ??
      DEFAULT_REQUEST_BUFFER_SIZE,
    Buffer.byteLength(message),
    65535,
  );
  const httpPort =
    options.httpPort === undefined ? undefined : checkPort('httpPort', options.httpPort);
  const bindAddress = checkAddress('bindAddress', options.bindAddress ?? '0.0.0.0');
  const family = options.family ?? 'any';
  if (family !== 'any' && family !== 'IPv4' && family !== 'IPv6') {
    throw new InvalidOptionError(
      'family',
      family,
      "'any' (IPv4, and extended requests over IPv6), 'IPv4' or 'IPv6'",
    );
  }
  if (family === 'IPv6' && bindAddress !== '0.0.0.0') {
    throw new InvalidOptionError(
      'bindAddress',
      bindAddress,
      "0.0.0.0 with family 'IPv6' (the IPv6 socket binds [::]; bindAddress is an IPv4 address)",
    );
  }
  const interfacePollInterval = checkInterfacePollInterval(
    options.interfacePollInterval,
    'to join the groups at start only',
  );
  const advertiseAddress =
    options.advertiseAddress === undefined
      ? undefined
      : checkAddress('advertiseAddress', options.advertiseAddress);
  if (advertiseAddress === '0.0.0.0') {
    throw new InvalidOptionError(
      'advertiseAddress',
      advertiseAddress,
      'an IPv4 address of this host',
    );
  }
  const serviceAddress =
    options.serviceAddress === undefined ? undefined : checkServiceAddress(options.serviceAddress);
  const allow = [...(options.allow ?? [])];
  const allowCidrs: Cidr[] = [];
  const allowCidrs6: IPv6Cidr[] = [];
  for (const text of allow) {
    const cidr = typeof text === 'string' ? parseCidr(text) : undefined;
    const cidr6 = cidr ? undefined : parseIPv6Cidr(text);
    if (cidr) allowCidrs.push(cidr);
    else if (cidr6) allowCidrs6.push(cidr6);
    else {
      throw new InvalidOptionError(
        'allow',
        text,
        'IPv4 or IPv6 CIDRs such as 10.20.0.0/16 or fd00::/8, or bare addresses; no zone (%eth0)',
      );
    }
  }
  const offLink = options.offLink ?? envValue(env, 'DISCOVERY_OFF_LINK') ?? 'private';
  if (!OFF_LINK_POLICIES.includes(offLink as OffLinkPolicy)) {
    throw new InvalidOptionError(
      options.offLink === undefined ? 'DISCOVERY_OFF_LINK' : 'offLink',
      offLink,
      "'private' (answer private senders behind a router, at a lower rate) or 'none'",
    );
  }
  const rateLimit = options.rateLimit ?? 20;
  if (typeof rateLimit !== 'number' || !Number.isFinite(rateLimit) || rateLimit < 0) {
    throw new InvalidOptionError(
      'rateLimit',
      rateLimit,
      'replies per second per source, 0 for no limit',
    );
  }
  const replyJitter = checkJitter(options.replyJitter, env);
  const logging = checkBoolean(
    'logging',
    options.logging ?? envBoolean(env, 'ENABLE_LOGGING') ?? true,
  );
  const encryption = checkBoolean(
    options.encryption === undefined ? 'DISCOVERY_ENCRYPTION_ENABLED' : 'encryption',
    options.encryption ?? envBoolean(env, 'DISCOVERY_ENCRYPTION_ENABLED') ?? false,
  );
  const secretKeyOption = options.secretKey === undefined ? 'DISCOVERY_SECRET_KEY' : 'secretKey';
  const fernetKey = encryption
    ? checkFernetKey(secretKeyOption, options.secretKey ?? envValue(env, 'DISCOVERY_SECRET_KEY'))
    : undefined;
  const envAuthKeys = envList(env, 'DISCOVERY_AUTH_KEYS') ?? [];
  const authKeys =
    options.authKeys !== undefined
      ? checkAuthKeys('authKeys', options.authKeys)
      : envAuthKeys.length > 0
        ? checkAuthKeys('DISCOVERY_AUTH_KEYS', envAuthKeys)
        : [];
  if (fernetKey && authKeys.length > 0) {
    throw new InvalidOptionError(
      'authKeys',
      '<redacted>',
      'either Fernet encryption or shared-key authentication, not both',
    );
  }
  const mode = fernetKey ? 'fernet' : authKeys.length > 0 ? 'authenticated' : 'plain';
  const worker = checkBoolean('worker', options.worker ?? false);
  if (
    worker &&
    (options.socketFactory !== undefined ||
      options.interfaceProvider !== undefined ||
      options.interfaceProvider6 !== undefined ||
      options.hostChannel !== undefined ||
      options.clock !== undefined)
  ) {
    throw new InvalidOptionError(
      'worker',
      worker,
      'false when socketFactory, interfaceProvider, interfaceProvider6, hostChannel or clock is given: functions cannot move into a worker thread',
    );
  }
  const clock = checkClock(options.clock);
  const hostChannel = checkHostChannel(options.hostChannel);
  const registryConfig = resolveRegistry(options.registry, env);
  const settings = {
    port,
    httpPort,
    message,
    prefix,
    bufferSize,
    bindAddress,
    family,
    interfacePollInterval,
    joinGroups: checkBoolean(
      'joinGroups',
      options.joinGroups ?? envBoolean(env, 'DISCOVERY_JOIN_GROUPS') ?? true,
    ),
    shareHost:
      checkBoolean('shareHost', options.shareHost ?? true) &&
      !fernetKey &&
      message === DEFAULT_MESSAGE &&
      prefix === DEFAULT_PREFIX,
    // Fernet mode answers key holders only: an announcement in the clear would give it away.
    announce: checkBoolean('announce', options.announce ?? true) && !fernetKey,
    lease: checkInteger('lease', options.lease ?? DEFAULT_LEASE_MS, 1000, MAX_LEASE_MS),
    announcePort:
      options.announcePort === undefined
        ? port === 0
          ? undefined // known once bound
          : defaultAnnouncePort(port)
        : checkPort('announcePort', options.announcePort),
    advertiseAddress,
    serviceAddress,
    allow,
    allowCidrs,
    allowCidrs6,
    offLink: offLink as OffLinkPolicy,
    rateLimit,
    replyJitter,
    logging,
    mode,
    replayProtection: checkBoolean('replayProtection', options.replayProtection ?? true),
    replayWindow: checkDuration('replayWindow', options.replayWindow ?? DEFAULT_REPLAY_WINDOW_MS),
    worker,
    metadata: checkMetadata(options),
    registry: registryConfig?.display,
  } as const;
  return { ...settings, secrets: { fernetKey, authKeys }, clock, registryConfig, hostChannel };
}

/**
 * The `hostChannel` option: an object with `listen()` and `connect()` methods, or undefined.
 *
 * @throws {InvalidOptionError} for anything else.
 */
function checkHostChannel(value: unknown): HostChannelTransport | undefined {
  if (value === undefined) return undefined;
  const transport = value as Partial<HostChannelTransport> | null;
  if (
    typeof value !== 'object' ||
    transport === null ||
    typeof transport.listen !== 'function' ||
    typeof transport.connect !== 'function'
  ) {
    throw new InvalidOptionError(
      'hostChannel',
      value,
      'an object with listen(path, onConnection, onError) and connect(path) methods (for tests and simulations, as beckon/testing gives)',
    );
  }
  return value as HostChannelTransport;
}

/** The largest plain reply may be this many times the size of its request without a warning. */
const MAX_AMPLIFICATION = 3;

/**
 * The warning for a plain-mode configuration whose longest reply is more than
 * {@link MAX_AMPLIFICATION} times the size of its request, or undefined. Not refused: the
 * original answers any message, and the gain is small here, since only loopback and private
 * senders (plus `allow`) are answered, each within its rate limit (off-link ones within the
 * lower off-link limits).
 */
export function amplificationWarning(
  settings: Pick<
    ResponderSettings,
    'mode' | 'message' | 'prefix' | 'httpPort' | 'rateLimit' | 'allow' | 'offLink'
  >,
): string | undefined {
  if (settings.mode !== 'plain') return undefined; // Fernet and signed requests are not short
  const { message, prefix, httpPort, rateLimit, allow, offLink } = settings;
  const longest = encodeReply(prefix, '255.255.255.255', httpPort).byteLength;
  const asked = Buffer.byteLength(message);
  if (longest <= MAX_AMPLIFICATION * asked) return undefined;
  const ratio = Math.round((longest / asked) * 10) / 10;
  const shortest = Math.ceil(longest / MAX_AMPLIFICATION);
  const limit =
    rateLimit === 0 ? 'with no rate limit' : `at most ${rateLimit} replies/s per source`;
  return (
    `A reply can be ${ratio} times the size of its request (message ${JSON.stringify(message)}, ` +
    `${asked} bytes; longest reply ${longest} bytes), so a spoofed request makes this host send ` +
    `more than it received. Only loopback and private on-link senders${allow.length > 0 ? ' and the allowed CIDRs' : ''} ` +
    `are answered, ${limit}` +
    (offLink === 'private'
      ? `, and private off-link senders at most ${OFF_LINK_RATE_PER_SOURCE} reply/s each after a burst of ${OFF_LINK_BURST}, ${OFF_LINK_RATE_TOTAL}/s in all. `
      : '. ') +
    `To stay within ${MAX_AMPLIFICATION} times, use a message of at least ${shortest} bytes or a ` +
    'shorter prefix.'
  );
}

/** The metadata of extended answers; the longest possible answer must fit its size limit. */
export function checkMetadata(
  options: Pick<
    ResponderOptions,
    'instanceId' | 'name' | 'service' | 'version' | 'scheme' | 'metadata'
  >,
): ServerMetadata {
  const text = (option: 'instanceId' | 'name' | 'service' | 'version', maxBytes: number) => {
    const value = options[option];
    return value === undefined ? undefined : checkSafeText(option, value, maxBytes);
  };
  const scheme = options.scheme ?? 'http';
  if (typeof scheme !== 'string' || !SCHEME.test(scheme)) {
    throw new InvalidOptionError('scheme', scheme, 'a URL scheme such as http or https');
  }
  const values = options.metadata ?? {};
  const entries = typeof values === 'object' && values !== null ? Object.entries(values) : [];
  const allowedValues = `up to ${Limits.values} pairs, keys of 1 to ${Limits.valueKey} bytes, string values of up to ${Limits.valueText} bytes, ${Limits.valuesTotal} bytes in all, no control characters`;
  const total = entries.reduce(
    (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(String(v)),
    0,
  );
  if (
    typeof values !== 'object' ||
    values === null ||
    Array.isArray(values) ||
    entries.length > Limits.values ||
    total > Limits.valuesTotal ||
    !entries.every(
      ([k, v]) =>
        isSafeText(k, Limits.valueKey) &&
        typeof v === 'string' &&
        isSafeText(v, Limits.valueText, true),
    )
  ) {
    throw new InvalidOptionError('metadata', JSON.stringify(values), allowedValues);
  }
  return {
    instanceId: text('instanceId', Limits.text) ?? randomUUID(),
    name: text('name', Limits.text),
    service: text('service', Limits.text),
    scheme,
    version: text('version', Limits.version),
    values: Object.freeze(Object.fromEntries(entries)),
  };
}

/** The longest reply jitter, in milliseconds. */
export const MAX_JITTER_MS = 10_000;
const JITTER_ALLOWED = `[min, max] milliseconds, 0 <= min <= max <= ${MAX_JITTER_MS}`;

/**
 * `MIN-MAX` (or just `MAX`) in whole milliseconds, as in `DISCOVERY_REPLY_JITTER=20-120`: bare
 * numbers are milliseconds, and units are allowed ({@link parseDurationRange}: `20ms-120ms`,
 * `0-1s`). Undefined if malformed, if MIN > MAX or if MAX > {@link MAX_JITTER_MS}.
 */
export function parseJitter(text: string): [number, number] | undefined {
  const range = parseDurationRange(text, 'ms');
  return range && range[1] <= MAX_JITTER_MS ? range : undefined;
}

function checkJitter(value: unknown, env: Env): readonly [number, number] {
  if (value === undefined) {
    const text = envValue(env, 'DISCOVERY_REPLY_JITTER');
    if (text === undefined) return [0, 0];
    const parsed = parseJitter(text);
    if (!parsed) {
      throw new InvalidOptionError(
        'DISCOVERY_REPLY_JITTER',
        text,
        `MIN-MAX or MAX in milliseconds (20-120), or with units (20ms-120ms, 0-1s), 0 <= MIN <= MAX <= ${MAX_JITTER_MS} ms`,
      );
    }
    return parsed;
  }
  const valid =
    Array.isArray(value) &&
    value.length === 2 &&
    value.every((n) => Number.isInteger(n)) &&
    0 <= value[0] &&
    value[0] <= value[1] &&
    value[1] <= MAX_JITTER_MS;
  if (!valid) throw new InvalidOptionError('replyJitter', JSON.stringify(value), JITTER_ALLOWED);
  return [value[0], value[1]];
}

/** A dotted IPv4 address. @throws InvalidOptionError naming `option`. */
export function checkAddress(option: string, value: unknown): string {
  if (typeof value !== 'string' || parseIPv4(value) === undefined) {
    throw new InvalidOptionError(option, value, 'a dotted IPv4 address such as 192.168.1.10');
  }
  return value;
}

/**
 * `serviceAddress`: IPv4, or IPv6 in the form the responder advertises it (RFC 5952, without
 * zone), since it is compared with the address each requester would be sent. An IPv4-mapped
 * address is the IPv4 address it carries; `0.0.0.0` and `::` (all) give undefined.
 */
export function checkServiceAddress(value: unknown): string | undefined {
  if (typeof value === 'string' && parseIPv4(value) !== undefined) {
    return value === '0.0.0.0' ? undefined : value;
  }
  const parsed = parseIPv6(value);
  if (!parsed || classifyIPv6(parsed.value) === 'multicast') {
    throw new InvalidOptionError(
      'serviceAddress',
      value,
      'an IPv4 address such as 192.168.1.10 or an IPv6 address such as fd00::5 (0.0.0.0 or :: for all)',
    );
  }
  if (parsed.value === 0n) return undefined;
  return mappedIPv4(parsed.value) ?? formatIPv6({ value: parsed.value, zone: undefined });
}
