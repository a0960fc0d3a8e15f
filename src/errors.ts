/** Every error code beckon throws or reports. */
export type BeckonErrorCode =
  | 'BECKON_ERR_INVALID_OPTION'
  | 'BECKON_ERR_BIND'
  | 'BECKON_ERR_SOCKET'
  /** Warning: this configuration lets a reply be larger than 3 times its request. */
  | 'BECKON_ERR_AMPLIFICATION'
  /** Warning: a peer's token had the right key but a time outside the replay window. */
  | 'BECKON_ERR_CLOCK_SKEW'
  /** A line or service record on the host-local channel was refused (docs/many-services.md). */
  | 'BECKON_ERR_HOST_RECORD'
  /** Warning: the registry (etcd) is unreachable, refused a request, or its client is missing (docs/registry.md). */
  | 'BECKON_ERR_REGISTRY';

/** Base class of every error beckon creates; `code` is stable, the message is for people. */
export class BeckonError extends Error {
  override name = 'BeckonError';
  readonly code: BeckonErrorCode;

  constructor(code: BeckonErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * An option or environment variable has a value beckon cannot use. Thrown synchronously, before
 * any socket is opened.
 */
export class InvalidOptionError extends BeckonError {
  override name = 'InvalidOptionError';
  /** The option or environment variable, e.g. `timeout` or `DISCOVERY_CLIENT_TIMEOUT`. */
  readonly option: string;
  /** The rejected value, as given. */
  readonly value: unknown;
  /** What the message says after the option's name: the value (or problem) and what is allowed. */
  #detail: string;

  constructor(option: string, value: unknown, allowed: string) {
    const detail = `${formatValue(value)} (expected ${allowed})`;
    super('BECKON_ERR_INVALID_OPTION', `Invalid ${option}: ${detail}`);
    this.option = option;
    this.value = value;
    this.#detail = detail;
  }

  /**
   * For a secret (a key): the message says what is wrong and what is allowed, never the value,
   * and `value` is `'<redacted>'`.
   */
  static secret(option: string, problem: string, allowed: string): InvalidOptionError {
    const error = new InvalidOptionError(option, '<redacted>', allowed);
    error.#detail = `${problem} (expected ${allowed})`;
    error.message = `Invalid ${option}: ${error.#detail}`;
    return error;
  }

  /**
   * The same error naming `option` instead, e.g. the CLI flag (`--advertise-address`) the user
   * typed for the library option `advertiseAddress`. The original is the new error's `cause`.
   */
  withOption(option: string): InvalidOptionError {
    const error = new InvalidOptionError(option, this.value, '');
    error.#detail = this.#detail;
    error.message = `Invalid ${option}: ${this.#detail}`;
    error.cause = this;
    return error;
  }
}

/** The responder could not bind its UDP port; `cause` is the operating system's error. */
export class BindError extends BeckonError {
  override name = 'BindError';
  readonly port: number;
  readonly address: string;

  constructor(port: number, address: string, cause: NodeJS.ErrnoException) {
    super('BECKON_ERR_BIND', bindMessage(port, address, cause), { cause });
    this.port = port;
    this.address = address;
  }

  /** The port is taken (EADDRINUSE), rather than not allowed or not available. */
  get inUse(): boolean {
    return (this.cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
  }
}

/** A socket failed while running. Reported as a warning: beckon recovers from these. */
export class SocketError extends BeckonError {
  override name = 'SocketError';

  constructor(message: string, cause: unknown) {
    super('BECKON_ERR_SOCKET', message, { cause });
  }
}

/**
 * The registry (etcd) could not be reached, refused a request, or its client package is not
 * installed. Reported as a warning: LAN discovery carries on, and registration recovers when
 * the registry is back.
 */
export class RegistryError extends BeckonError {
  override name = 'RegistryError';

  constructor(message: string, cause?: unknown) {
    super('BECKON_ERR_REGISTRY', message, cause === undefined ? undefined : { cause });
  }
}

/** True when `error` is one of beckon's errors (optionally with the given code). */
export function isBeckonError(error: unknown, code?: BeckonErrorCode): error is BeckonError {
  return error instanceof BeckonError && (code === undefined || error.code === code);
}

function bindMessage(port: number, address: string, cause: NodeJS.ErrnoException): string {
  switch (cause.code) {
    case 'EADDRINUSE':
      return (
        `UDP port ${port} is already in use on ${address} by a process that does not share it ` +
        '(django-udp-discovery, another program, or a beckon responder with sharing off). Stop ' +
        'it or choose another port.'
      );
    case 'EACCES':
      return `Permission denied binding UDP port ${port} on ${address}.`;
    case 'EADDRNOTAVAIL':
      return `Cannot bind UDP port ${port}: ${address} is not an address of this host.`;
    default:
      return `Cannot bind UDP port ${port} on ${address}: ${cause.message}`;
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return JSON.stringify(value);
  return String(value);
}
