/**
 * Discovery that starts and stops with a `node:http`/`https` server (and so with Express, Koa,
 * Hono's node server and anything else built on one).
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { portHeldMessage } from '../diagnostics/port-owner.js';
import { BindError } from '../errors.js';
import { debugLogger, type Logger } from '../logger.js';
import { isLoopback, parseIPv4 } from '../network/ipv4.js';
import { formatIPv6, parseIPv6 } from '../network/ipv6.js';
import type { Responder } from '../responder/events.js';
import type { ResponderOptions } from '../responder/options.js';
import { createResponder } from '../responder/responder.js';
import { type AttachOptions, checkAttachOptions } from './attach-options.js';
import { detectTestRun } from './test-run.js';

export type { AttachOptions } from './attach-options.js';

/**
 * Where discovery stands: waiting for the server to listen, `answering` (this process holds the
 * UDP port, and answers for the host's other beckon services too), `registered` (another beckon
 * process on the host holds it and answers for this server; this one takes over if it goes),
 * on `standby` (something that is not a sharing beckon responder holds the port), `disabled`
 * (turned off, a test run, or nothing to advertise), `failed` (the port could not be bound for
 * another reason) or `stopped` (detached).
 */
export type DiscoveryState =
  | 'waiting'
  | 'answering'
  | 'registered'
  | 'standby'
  | 'disabled'
  | 'failed'
  | 'stopped';

/** Controls discovery attached to a server. */
export interface DiscoveryHandle {
  readonly state: DiscoveryState;
  /** The responder while answering (for its events and UDP port), else undefined. */
  readonly responder: Responder | undefined;
  /** `https` for a TLS server, else `http`. */
  readonly scheme: 'http' | 'https';
  /**
   * Resolves with the state once the server listens and discovery has settled (answering,
   * registered, standby, disabled or failed), or once the handle is stopped.
   */
  settled(): Promise<DiscoveryState>;
  /** Stops answering and detaches from the server for good. Safe to call more than once. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Makes `server` discoverable while it listens: starts a responder when it emits `listening`,
 * advertising the port it really bound (port 0 included), and stops it on `close`. A server on
 * `::` is advertised on both families, one on `0.0.0.0` over IPv4 only. If the server listens on
 * one address only (say 127.0.0.1, or `::1`), only requesters that reach it there are answered
 * (for an IPv6 address, IPv6 requesters only), and a warning says so once.
 *
 * @throws {InvalidOptionError} at once for any invalid option.
 * @example
 * const server = app.listen(0);
 * attachDiscovery(server); // UDP 9999 answers with this host's address and the bound port
 */
export function attachDiscovery(server: NetServer, options: AttachOptions = {}): DiscoveryHandle {
  return new AttachedDiscovery(server, options);
}

class AttachedDiscovery implements DiscoveryHandle {
  state: DiscoveryState = 'waiting';
  responder: Responder | undefined;
  readonly scheme: 'http' | 'https';
  readonly #server: NetServer;
  readonly #options: ResponderOptions;
  readonly #logger: Logger;
  readonly #standbyRetryMs: number;
  readonly #said = new Set<string>();
  // The same id for every responder of this handle, across close and listen again.
  readonly #instanceId = randomUUID();
  #settledWaiters: ((state: DiscoveryState) => void)[] = [];
  #retryTimer: NodeJS.Timeout | undefined;
  // Bumped on every listen, close and stop: an older start attempt never touches a newer state.
  #generation = 0;
  #listenHandled = false;
  // The stop of the previous responder: a new one binds only after the old socket is closed.
  #halting: Promise<unknown> = Promise.resolve();

  constructor(server: NetServer, options: AttachOptions) {
    const { enabled, standbyRetryMs, responderOptions } = checkAttachOptions(options);
    this.#standbyRetryMs = standbyRetryMs;
    this.#server = server;
    this.#options = responderOptions;
    this.#logger = options.logger ?? debugLogger;
    this.scheme = server instanceof TlsServer ? 'https' : 'http';

    const testRun = enabled === undefined ? detectTestRun(options.env) : undefined;
    if (enabled === false || testRun) {
      this.#logger.info(
        enabled === false
          ? 'Discovery is disabled (enabled: false)'
          : `Discovery is off in a test run (${testRun}); pass enabled: true to turn it on`,
      );
      this.#settle('disabled');
      return;
    }
    server.on('listening', this.#onListening);
    server.on('close', this.#onClose);
    if (server.listening) this.#onListening();
  }

  settled(): Promise<DiscoveryState> {
    if (this.state !== 'waiting') return Promise.resolve(this.state);
    return new Promise((resolve) => this.#settledWaiters.push(resolve));
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.#generation++;
    this.#server.off('listening', this.#onListening);
    this.#server.off('close', this.#onClose);
    this.#settle('stopped');
    await this.#halt();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  readonly #onListening = (): void => {
    // listen() may bind at once and emit 'listening' a tick later: handle each listen once.
    if (this.#listenHandled || this.state === 'stopped') return;
    this.#listenHandled = true;
    const generation = ++this.#generation;
    const target = this.#advertisable();
    if (target === undefined) {
      this.#settle('disabled');
      return;
    }
    // Both families on `::`; IPv6 only on one IPv6 address (no IPv4 requester could be sent it),
    // unless the user bound the responder to one IPv4 address (IPv6 needs 0.0.0.0); IPv4 only
    // on `0.0.0.0` or one IPv4 address.
    const { bindAddress } = this.#options;
    const ipv6Only = target.address !== undefined && (bindAddress ?? '0.0.0.0') === '0.0.0.0';
    let responder: Responder;
    try {
      responder = createResponder({
        ...this.#options,
        scheme: this.#options.scheme ?? this.scheme,
        instanceId: this.#options.instanceId ?? this.#instanceId,
        httpPort: this.#options.httpPort ?? target.port,
        ...(target.address === undefined ? {} : { serviceAddress: target.address }),
        family: this.#options.family ?? (!target.ipv6 ? 'IPv4' : ipv6Only ? 'IPv6' : 'any'),
      });
    } catch (error) {
      // Options that only clash with the address the server listens on: said, never thrown
      // from the server's 'listening' event.
      this.#once('warn', 'options', `Discovery not started: ${String(error)}`);
      this.#settle('disabled');
      return;
    }
    void this.#start(responder, generation);
  };

  readonly #onClose = (): void => {
    this.#listenHandled = false;
    this.#generation++;
    if (this.state !== 'stopped') this.state = 'waiting';
    void this.#halt();
  };

  /**
   * The port to advertise, the one address the server is limited to, if it is, and whether
   * IPv6 requesters can reach it (it listens on `::` or on an IPv6 address).
   */
  #advertisable(): { port: number; address: string | undefined; ipv6: boolean } | undefined {
    const bound = this.#server.address() as AddressInfo | string | null;
    if (bound === null || typeof bound === 'string') {
      this.#once(
        'warn',
        'pipe',
        `The server listens on ${bound ?? 'nothing'}, not on a TCP port: nothing to advertise`,
      );
      return undefined;
    }
    const { address, port } = bound;
    if (address === '::') return { port, address: undefined, ipv6: true };
    if (address === '0.0.0.0') return { port, address: undefined, ipv6: false };
    const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
    const ip = parseIPv4(v4);
    if (ip !== undefined) {
      this.#once('warn', 'limited', limitedWarning(v4, isLoopback(ip), 'IPv4'));
      return { port, address: v4, ipv6: false };
    }
    const v6 = parseIPv6(address);
    if (v6 === undefined) {
      this.#once('warn', 'unknown', `The server listens on ${address}: nothing to advertise`);
      return undefined;
    }
    // The form the responder advertises (no zone: a link-local address is sent without it).
    const service = formatIPv6({ value: v6.value, zone: undefined });
    this.#once('warn', 'limited', limitedWarning(address, v6.value === 1n, 'IPv6'));
    return { port, address: service, ipv6: true };
  }

  async #start(responder: Responder, generation: number): Promise<void> {
    await this.#halting;
    if (generation !== this.#generation) return;
    try {
      await responder.start();
    } catch (error) {
      if (generation !== this.#generation) return;
      if (error instanceof BindError && error.inUse) {
        if (this.#standbyRetryMs > 0) {
          this.#once(
            'warn',
            'standby',
            `${portHeldMessage(error.port, responder.settings.shareHost)} Standing by; trying ` +
              `again every ${this.#standbyRetryMs} ms.`,
          );
          this.#settle('standby');
          this.#retryTimer = setTimeout(
            () => void this.#start(responder, generation),
            this.#standbyRetryMs,
          );
          this.#retryTimer.unref();
          return;
        }
      }
      this.#logger.warn(
        `Discovery not started: ${error instanceof Error ? error.message : String(error)}`,
      );
      this.#settle('failed');
      return;
    }
    if (generation !== this.#generation) {
      await responder.stop();
      return;
    }
    this.responder = responder;
    const role = responder.role ?? 'answering';
    this.#logger.info(
      role === 'answering'
        ? `Discovery answering on UDP port ${responder.port}, advertising ${this.scheme} port ` +
            `${responder.settings.httpPort}`
        : `Discovery registered with the beckon process answering on UDP port ${responder.port} ` +
            `on this host, advertising ${this.scheme} port ${responder.settings.httpPort}`,
    );
    // A takeover (or a re-registration after one) changes the state later.
    responder.on('role', (change) => {
      if (this.responder === responder) this.state = change.role;
    });
    this.#settle(role);
  }

  #halt(): Promise<unknown> {
    clearTimeout(this.#retryTimer);
    const responder = this.responder;
    this.responder = undefined;
    this.#halting = this.#halting.then(() => responder?.stop()).catch(() => {});
    return this.#halting;
  }

  #settle(state: DiscoveryState): void {
    this.state = state;
    const waiters = this.#settledWaiters;
    this.#settledWaiters = [];
    for (const resolve of waiters) resolve(state);
  }

  /** Logs `message` the first time `key` comes up, and never again. */
  #once(level: 'info' | 'warn', key: string, message: string): void {
    if (this.#said.has(key)) return;
    this.#said.add(key);
    this.#logger[level](message);
  }
}

/** The warning for a server that listens on one address only. */
function limitedWarning(address: string, loopback: boolean, family: 'IPv4' | 'IPv6'): string {
  if (family === 'IPv4') {
    return loopback
      ? `The server listens on ${address} only: discovery answers requests from this machine ` +
          'alone. Listen on 0.0.0.0 to be found on the LAN.'
      : `The server listens on ${address} only: discovery answers only requesters that reach ` +
          `this host at ${address}.`;
  }
  const how = 'over IPv6 (extended requests), and IPv4 requesters get no answer';
  return loopback
    ? `The server listens on ${address} only: discovery answers requests from this machine ` +
        `alone, ${how}. Listen on :: to be found on the LAN on both families.`
    : `The server listens on ${address} only: discovery answers only requesters that reach ` +
        `this host at ${address}, ${how}. Listen on :: to be found on both families.`;
}
