import { InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InterfaceProvider } from '../network/interfaces.js';
import { type Cidr, parseCidr, parseIPv4 } from '../network/ipv4.js';
import type { SocketFactory } from '../network/socket.js';
import {
  checkBoolean,
  checkInteger,
  checkPort,
  checkText,
  type Env,
  envBoolean,
  envInteger,
  envValue,
} from '../options.js';
import { DEFAULT_MESSAGE, DEFAULT_PREFIX, DEFAULT_REQUEST_BUFFER_SIZE } from '../protocol/plain.js';

/** Options of {@link createResponder}. Each falls back to its environment variable, then its default. */
export interface ResponderOptions {
  /** UDP port to listen on; 0 picks a free one. Env `DISCOVERY_PORT`. @default 9999 */
  port?: number;
  /** HTTP port to advertise (`SERVER_IP:ip:port`); without it the reply has no port, as the original's. */
  httpPort?: number;
  /** The request to answer, compared byte for byte. Env `DISCOVERY_MESSAGE`. @default 'DISCOVER_SERVER' */
  message?: string;
  /** Reply prefix. Env `RESPONSE_PREFIX`. @default 'SERVER_IP:' */
  prefix?: string;
  /** Bytes of each datagram compared, as the original's read size. Env `DISCOVERY_BUFFER_SIZE`. @default 1024 */
  bufferSize?: number;
  /** Local address to bind. Only 0.0.0.0 receives broadcasts on Linux. @default '0.0.0.0' */
  bindAddress?: string;
  /** Advertise this address to everyone instead of the one in each requester's subnet. */
  advertiseAddress?: string;
  /**
   * The one address the advertised service listens on, when it does not listen on all of them
   * (an HTTP server bound to 127.0.0.1 or to one LAN address). Only requesters that would be
   * sent this address are answered; the others are dropped as `unreachable`. `0.0.0.0` means all.
   */
  serviceAddress?: string;
  /** CIDRs answered besides loopback and private on-link requesters, e.g. a routed office subnet. */
  allow?: readonly string[];
  /** Replies per second per source address (burst of the same size); 0 turns the limit off. @default 20 */
  rateLimit?: number;
  /** Debug and info logging; warnings and errors are always logged. Env `ENABLE_LOGGING`. @default true */
  logging?: boolean;
  /** Where log lines go. @default a `util.debuglog('beckon')` logger (`NODE_DEBUG=beckon`) */
  logger?: Logger;
  /** Stops the responder when aborted. */
  signal?: AbortSignal;
  /** Environment to read settings from. @default process.env */
  env?: Env;
  /** Creates the UDP socket. @default dgram.createSocket */
  socketFactory?: SocketFactory;
  /** Lists local interfaces. @default listInterfaces */
  interfaceProvider?: InterfaceProvider;
}

/** The responder's settings after defaults and environment were applied. */
export interface ResponderSettings {
  readonly port: number;
  readonly httpPort: number | undefined;
  readonly message: string;
  readonly prefix: string;
  readonly bufferSize: number;
  readonly bindAddress: string;
  readonly advertiseAddress: string | undefined;
  readonly serviceAddress: string | undefined;
  readonly allow: readonly string[];
  readonly rateLimit: number;
  readonly logging: boolean;
}

/**
 * Applies environment variables and defaults, and validates everything.
 *
 * @throws {InvalidOptionError} naming the option or variable, the value and what is allowed.
 */
export function resolveResponderSettings(
  options: ResponderOptions,
): ResponderSettings & { allowCidrs: Cidr[] } {
  const env = options.env ?? process.env;
  const port = checkPort(
    'port',
    options.port ?? envInteger(env, 'DISCOVERY_PORT', 0, 65535) ?? 9999,
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
    options.serviceAddress === undefined
      ? undefined
      : checkAddress('serviceAddress', options.serviceAddress);
  const allow = [...(options.allow ?? [])];
  const allowCidrs = allow.map((text) => {
    const cidr = typeof text === 'string' ? parseCidr(text) : undefined;
    if (!cidr) throw new InvalidOptionError('allow', text, 'IPv4 CIDRs such as 10.20.0.0/16');
    return cidr;
  });
  const rateLimit = options.rateLimit ?? 20;
  if (typeof rateLimit !== 'number' || !Number.isFinite(rateLimit) || rateLimit < 0) {
    throw new InvalidOptionError(
      'rateLimit',
      rateLimit,
      'replies per second per source, 0 for no limit',
    );
  }
  const logging = checkBoolean(
    'logging',
    options.logging ?? envBoolean(env, 'ENABLE_LOGGING') ?? true,
  );
  return {
    port,
    httpPort,
    message,
    prefix,
    bufferSize,
    bindAddress,
    advertiseAddress,
    serviceAddress: serviceAddress === '0.0.0.0' ? undefined : serviceAddress,
    allow,
    allowCidrs,
    rateLimit,
    logging,
  };
}

function checkAddress(option: string, value: unknown): string {
  if (typeof value !== 'string' || parseIPv4(value) === undefined) {
    throw new InvalidOptionError(option, value, 'a dotted IPv4 address such as 192.168.1.10');
  }
  return value;
}
