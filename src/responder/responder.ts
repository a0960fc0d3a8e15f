import type { RemoteInfo, Socket, SocketOptions } from 'node:dgram';
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock.js';
import { BeckonError, BindError, SocketError } from '../errors.js';
import { channelPath } from '../host/channel.js';
import { dedupeRecords, type HostRecord } from '../host/records.js';
import type { HostChannelTransport } from '../host/transport.js';
import { debugLogger, gateLogger, type Logger } from '../logger.js';
import { InterfaceCache } from '../network/interface-cache.js';
import { listInterfaces, type NetworkInterface } from '../network/interfaces.js';
import { type IPv6InterfaceAddress, listIPv6Interfaces } from '../network/interfaces6.js';
import type { Cidr } from '../network/ipv4.js';
import { isLoopback, parseIPv4 } from '../network/ipv4.js';
import { classifyIPv6, type IPv6Cidr, parseIPv6 } from '../network/ipv6.js';
import { IPV4_GROUP, IPV6_GROUP } from '../network/multicast.js';
import { RouteCache } from '../network/route.js';
import {
  closeSocket,
  createUdpSocket,
  literalLookup,
  type SocketFactory,
} from '../network/socket.js';
import { decodeAnswer, isExtended } from '../protocol/extended.js';
import {
  type DropEvent,
  type DropReason,
  type ReplyEvent,
  type Responder,
  type ResponderEvents,
  responderChannel,
} from './events.js';
import { GroupMemberships, groupTargets4, groupTargets6 } from './group-memberships.js';
import { type HostRole, HostShare } from './host-share.js';
import { Backoff, Serial } from './lifecycle.js';
import {
  amplificationWarning,
  OFF_LINK_BURST,
  OFF_LINK_RATE_PER_SOURCE,
  OFF_LINK_RATE_TOTAL,
  type ResponderOptions,
  type ResponderSettings,
  resolveResponderSettings,
} from './options.js';
import { ResponderPresence } from './presence.js';
import {
  type AcceptedRequest,
  type Answerer,
  DROP_REASON_OF,
  ResponderProtocol,
} from './protocol.js';
import { RateLimiter } from './rate-limit.js';
import { rateLimitKey } from './rate-limit-key.js';
import { RefusalLog } from './refusal-log.js';
import { RegistryPublisher } from './registry-publisher.js';
import { judgeSender, replyAddressFor } from './sender-policy.js';
import { judgeSender6, replyAddressFor6 } from './sender-policy6.js';
import { ownService, recordOf, type Service, serves, serviceOf } from './services.js';
import { WorkerResponder } from './worker.js';

const INTERFACE_MAX_AGE_MS = 250;
const MAX_CACHED_DECISIONS = 4096;
const MAX_DELAYED_REPLIES = 4096;
// At most one log line a minute says that the off-link budget ran out.
const OFF_LINK_NOTICE_MS = 60_000;

/**
 * Creates a responder. Nothing is bound until {@link Responder.start}.
 *
 * @throws {InvalidOptionError} at once for any invalid option or environment variable.
 * @example
 * const responder = createResponder({ httpPort: 8080 });
 * await responder.start();
 */
export function createResponder(options: ResponderOptions = {}): Responder {
  return options.worker === true ? new WorkerResponder(options) : new DiscoveryResponder(options);
}

class DiscoveryResponder extends EventEmitter<ResponderEvents> implements Responder {
  readonly settings: ResponderSettings;
  readonly #allow: Cidr[];
  readonly #allow6: IPv6Cidr[];
  readonly #protocol: ResponderProtocol;
  readonly #logger: Logger;
  readonly #socketFactory: SocketFactory;
  readonly #interfaces: InterfaceCache;
  readonly #limiter: RateLimiter;
  // Private off-link senders: a lower limit per source, and one budget for all of them.
  readonly #offLinkLimiter = new RateLimiter(OFF_LINK_RATE_PER_SOURCE, 4096, OFF_LINK_BURST);
  readonly #offLinkBudget = new RateLimiter(OFF_LINK_RATE_TOTAL, 1);
  #offLinkNoticeAt = Number.NEGATIVE_INFINITY;
  // The local address toward requesters outside every local subnet.
  readonly #routes: RouteCache;
  readonly #clock: Clock;
  readonly #refusals: RefusalLog;
  readonly #signal: AbortSignal | undefined;
  // Every service answered for: this responder's own first.
  #services: readonly Service[];
  readonly #own: Service;
  // What this responder registers with its host's answering process.
  readonly #record: HostRecord;
  // Its place on the host channel while started, when `shareHost` is on.
  #share: HostShare | undefined;
  // What carries the host channel (the `hostChannel` option); undefined: Unix domain sockets.
  readonly #hostChannel: HostChannelTransport | undefined;
  #role: HostRole | undefined;
  // The IPv4 socket; absent when `family` is 'IPv6'.
  #socket: Socket | undefined;
  // The IPv6 socket (ipv6Only, on [::] and the same port), for extended requests; absent when
  // `family` is 'IPv4', `bindAddress` is not 0.0.0.0, or the host has no IPv6.
  #socket6: Socket | undefined;
  readonly #interfaces6: InterfaceCache<IPv6InterfaceAddress>;
  // Group memberships of each socket; none for an IPv4 socket bound to a unicast address.
  #groups: GroupMemberships | undefined;
  #groups6: GroupMemberships | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  // Announcements and goodbyes (docs/presence.md).
  readonly #presence: ResponderPresence;
  // Its record in the registry, when one is configured (docs/registry.md).
  readonly #registry: RegistryPublisher | undefined;
  #port: number | undefined;
  #started = false;
  // Bumped by every start and stop, so that a reopen begun earlier never touches a newer socket.
  #generation = 0;
  // start() and stop() run one after the other, in call order.
  readonly #lifecycle = new Serial();
  readonly #reopen = new Backoff();
  readonly #reopen6 = new Backoff();
  // Per source: whether it is answered at all, and per source and service the address to
  // advertise (or why not); one cache per family.
  readonly #decisions = new DecisionCache<NetworkInterface>();
  readonly #decisions6 = new DecisionCache<IPv6InterfaceAddress>();
  // Replies waiting for their jitter delay.
  readonly #delayed = new Set<NodeJS.Timeout>();

  constructor(options: ResponderOptions) {
    super();
    const { allowCidrs, allowCidrs6, secrets, clock, registryConfig, hostChannel, ...settings } =
      resolveResponderSettings(options);
    this.#hostChannel = hostChannel;
    this.settings = settings;
    this.#own = ownService(settings, secrets);
    this.#services = [this.#own];
    this.#record = recordOf(settings, secrets, process.pid);
    this.#clock = clock;
    this.#allow = allowCidrs;
    this.#allow6 = allowCidrs6;
    this.#protocol = new ResponderProtocol(settings, secrets);
    this.#logger = gateLogger(options.logger ?? debugLogger, settings.logging);
    this.#socketFactory = options.socketFactory ?? createUdpSocket;
    this.#interfaces = new InterfaceCache(
      options.interfaceProvider ?? listInterfaces,
      INTERFACE_MAX_AGE_MS,
    );
    this.#interfaces6 = new InterfaceCache(
      options.interfaceProvider6 ?? listIPv6Interfaces,
      INTERFACE_MAX_AGE_MS,
    );
    this.#limiter = new RateLimiter(settings.rateLimit);
    this.#routes = new RouteCache(this.#socketFactory);
    this.#refusals = new RefusalLog({
      settings,
      logger: this.#logger,
      warn: (warning) => this.#warn(warning),
    });
    this.#presence = new ResponderPresence(
      {
        settings,
        clock,
        logger: this.#logger,
        socketFactory: this.#socketFactory,
        interfaces: this.#interfaces,
        interfaces6: this.#interfaces6,
        sockets: () => ({ ipv4: this.#socket, ipv6: this.#socket6 }),
        port: () => this.#port ?? settings.port,
        warn: (error) => this.#warn(error),
      },
      this.#own,
    );
    this.#registry = registryConfig
      ? new RegistryPublisher(
          {
            registry: registryConfig,
            settings,
            signingKey: secrets.authKeys[0],
            interfaces: this.#interfaces,
            interfaces6: this.#interfaces6,
            logger: this.#logger,
            warn: (error) => this.#warn(error),
            changed: (state) => this.emit('registry', { state, registry: registryConfig.display }),
          },
          this.#own,
        )
      : undefined;
    this.#signal = options.signal;
    this.#signal?.addEventListener('abort', () => void this.stop(), { once: true });
  }

  get port(): number | undefined {
    return this.#started ? this.#port : undefined;
  }

  get listening(): boolean {
    return this.#started;
  }

  get role(): HostRole | undefined {
    return this.#started ? this.#role : undefined;
  }

  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#lifecycle.run(async () => {
      if (this.#started) return;
      if (this.#signal?.aborted) throw this.#signal.reason;
      const generation = ++this.#generation;
      let bound: Bound;
      try {
        bound = await this.#bindSockets(options.signal);
      } catch (error) {
        if (!this.settings.shareHost || !(error instanceof BindError && error.inUse)) throw error;
        // Taken: by a beckon responder that answers for the host, register with it.
        const share = this.#newShare(this.settings.port, generation);
        const role = await share.join().catch(async (refused: unknown) => {
          await share.close();
          throw refused; // the answering process refused the record
        });
        if (role === undefined || options.signal?.aborted) {
          await share.close();
          await this.#closeSockets();
          throw role === undefined ? error : options.signal?.reason;
        }
        this.#started = true;
        this.#port = this.settings.port;
        this.#share = share;
        this.#setRole(role);
        this.#registry?.start();
        return;
      }
      this.#started = true;
      this.#answer(bound);
      if (this.settings.shareHost) {
        this.#share = this.#newShare(bound.port, generation);
        await this.#share.answer();
      }
      this.#setRole('answering');
      this.#registry?.start();
    });
  }

  stop(): Promise<void> {
    return this.#lifecycle.run(async () => {
      if (!this.#started) return;
      this.#generation++;
      this.#started = false;
      this.#role = undefined;
      this.#reopen.cancel();
      this.#reopen6.cancel();
      for (const timer of this.#delayed) clearTimeout(timer);
      this.#delayed.clear();
      this.#refusals.close();
      // Goodbyes, while the sockets are still open; the registry's goodbye meanwhile.
      await Promise.all([this.#presence.stop(), this.#registry?.stop()]);
      await this.#closeSockets();
      // After the port is free, so that the first registrant to try takes it over at once.
      const share = this.#share;
      this.#share = undefined;
      this.#services = [this.#own];
      await share?.close();
      this.#logger.info('UDP discovery responder stopped');
      this.emit('close');
    });
  }

  async #closeSockets(): Promise<void> {
    const socket = this.#socket;
    const socket6 = this.#socket6;
    this.#socket = undefined;
    this.#socket6 = undefined;
    this.#groups = undefined;
    this.#groups6 = undefined;
    clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
    await Promise.all([closeSocket(socket), closeSocket(socket6)]);
  }

  /** Starts answering on freshly bound sockets (at start, or on taking the port over). */
  #answer({ socket, socket6, port }: Bound): void {
    this.#port = port;
    this.#install(socket, false);
    this.#install(socket6, true);
    if (socket) this.#logger.info(`UDP discovery responder listening on port ${port}`);
    if (socket6) {
      const also = socket ? 'Also answering' : 'Answering';
      this.#logger.info(`${also} extended requests over IPv6 on [::]:${port}`);
    }
    if (socket && !this.#groups && this.settings.joinGroups) {
      this.#logger.info(
        `Bound to ${this.settings.bindAddress}: not joining group ${IPV4_GROUP}, which a socket bound to a unicast address does not receive on Linux`,
      );
    }
    const amplification = amplificationWarning(this.settings);
    if (amplification) this.#warn(new BeckonError('BECKON_ERR_AMPLIFICATION', amplification));
    this.#syncGroups();
    const every = this.settings.interfacePollInterval;
    if (every > 0 && (this.#groups || this.#groups6))
      this.#pollTimer = setInterval(() => this.#syncGroups(), every).unref();
    this.emit('listening', { address: this.#listeningAddress(), port });
  }

  /** The host channel of `port`, wired to this responder for the start `generation`. */
  #newShare(port: number, generation: number): HostShare {
    // Not `#started`: the share claims the port during start() too.
    const current = () => this.#generation === generation;
    return new HostShare(
      channelPath(port),
      this.#record,
      {
        claim: async () => {
          let bound: Bound;
          try {
            bound = await this.#bindSockets(undefined);
          } catch (error) {
            if (error instanceof BindError && error.inUse) return false;
            throw error;
          }
          if (!current()) {
            await Promise.all([closeSocket(bound.socket), closeSocket(bound.socket6)]);
            return false;
          }
          this.#answer(bound);
          return true;
        },
        records: (records) => {
          if (!current()) return;
          const others = dedupeRecords([this.#record, ...records]).slice(1);
          this.#services = [this.#own, ...others.map(serviceOf)];
          this.#logger.debug(`Answering for ${this.#services.length} services on this host`);
          this.#presence.update(this.#services);
        },
        role: (role) => {
          if (current()) this.#setRole(role);
        },
        sign: (request, address) => (current() ? this.#sign(request, address) : undefined),
        warn: (error) => this.#warn(error),
      },
      this.#hostChannel,
    );
  }

  /**
   * Registered side of a keyed service: the answering process asks for the answer to a signed
   * request. Checked here as if received (key, freshness, service), and signed only for an
   * address of this host, so that the process holding the port cannot get this key to vouch for
   * another machine.
   */
  #sign(datagram: Buffer, address: string): Buffer | undefined {
    const own = this.#own;
    if (own.keys.length === 0 || !this.#isHostAddress(address) || !serves(own, address)) return;
    const now = this.#clock.now();
    const request = this.#protocol.accept(datagram, now, [own]);
    if ('refusal' in request || request.kind !== 'extended') return;
    const [answerer] = request.answerers;
    return answerer?.key ? this.#protocol.answer(request, answerer, address, now) : undefined;
  }

  /** `advertiseAddress`, or an address of one of this host's interfaces. */
  #isHostAddress(address: string): boolean {
    if (address === this.settings.advertiseAddress) return true;
    const all = [...this.#interfaces.get(), ...this.#interfaces6.get()];
    return all.some((entry) => entry.address === address);
  }

  #setRole(role: HostRole): void {
    this.#role = role;
    if (role === 'registered') this.#presence.registered();
    else this.#presence.answering(this.#services);
    const port = this.#port ?? this.settings.port;
    if (role === 'registered') {
      this.#logger.debug(
        `UDP port ${port} is answered by another beckon process on this host: registered this service with it`,
      );
    } else if (this.#share?.state === 'answering') {
      this.#logger.debug(`Answering for every beckon service on this host (port ${port})`);
    }
    this.emit('role', { role, port });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #listeningAddress(): string {
    return this.settings.family === 'IPv6' ? '::' : this.settings.bindAddress;
  }

  /**
   * Binds the sockets `family` asks for: IPv4 (whose failure fails the start) and, on the port it
   * got, IPv6 (whose failure is a warning), or with `'IPv6'` the IPv6 socket alone (fatal).
   */
  async #bindSockets(signal: AbortSignal | undefined): Promise<Bound> {
    if (this.settings.family === 'IPv6') {
      const socket6 = await this.#bind(this.settings.port, signal, 'udp6');
      return { socket6, port: socket6.address().port };
    }
    const socket = await this.#bind(this.settings.port, signal);
    const port = socket.address().port;
    if (this.settings.family === 'IPv4' || this.settings.bindAddress !== '0.0.0.0') {
      return { socket, port };
    }
    try {
      return { socket, socket6: await this.#bindIPv6(port, signal), port };
    } catch (error) {
      await closeSocket(socket); // aborted while binding IPv6
      throw error;
    }
  }

  /**
   * Makes `socket` the current socket of its family, with fresh group memberships (a new socket
   * has none), unless `joinGroups` is off. On Linux a socket bound to one unicast address never
   * receives group traffic, so such an IPv4 socket joins nothing.
   */
  #install(socket: Socket | undefined, ipv6: boolean): void {
    const report = {
      debug: (message: string) => this.#logger.debug(message),
      warn: (error: BeckonError) => this.#warn(error),
    };
    const { joinGroups, bindAddress } = this.settings;
    if (ipv6) {
      this.#socket6 = socket;
      this.#groups6 =
        socket && joinGroups ? new GroupMemberships(socket, IPV6_GROUP, report) : undefined;
      return;
    }
    this.#socket = socket;
    // Announcements go to broadcast addresses (docs/presence.md).
    if (socket && this.settings.announce) socket.setBroadcast(true);
    const joins = socket !== undefined && joinGroups && bindAddress === '0.0.0.0';
    this.#groups = joins ? new GroupMemberships(socket, IPV4_GROUP, report) : undefined;
  }

  /**
   * Joins the groups on interfaces that appeared and leaves those that went away: at start,
   * after a socket was reopened, and every `interfacePollInterval`. An IPv6 interface that is
   * no longer listed at all cannot be named to leave (see {@link GroupMemberships.update}).
   */
  #syncGroups(): void {
    try {
      this.#groups?.update(groupTargets4(this.#interfaces.get()));
      if (this.#groups6) {
        const interfaces6 = this.#interfaces6.get();
        const listed = new Set(interfaces6.map((iface) => iface.name));
        this.#groups6.update(groupTargets6(interfaces6), (name) => listed.has(name));
      }
      this.#presence.update(this.#services);
    } catch (error) {
      // An injected interface provider that throws must not take the host down from a timer.
      this.#warn(new SocketError(`Reading the interfaces failed: ${String(error)}`, error));
    }
  }

  /**
   * Binds the IPv6 socket on `port`, or warns (once per start) and returns undefined: a host
   * without IPv6 (EAFNOSUPPORT, EADDRNOTAVAIL) or a port taken on IPv6 only never stops the
   * IPv4 responder. An abort still rejects.
   */
  async #bindIPv6(port: number, signal?: AbortSignal): Promise<Socket | undefined> {
    try {
      return await this.#bind(port, signal, 'udp6');
    } catch (error) {
      if (signal?.aborted) throw error;
      const code = (error as BeckonError).cause as NodeJS.ErrnoException | undefined;
      const unavailable = code?.code === 'EAFNOSUPPORT' || code?.code === 'EADDRNOTAVAIL';
      const text = error instanceof Error ? error.message : String(error);
      this.#warn(
        new SocketError(
          unavailable
            ? `IPv6 is not available on this host (${code?.code}); answering on IPv4 only`
            : `Could not listen on IPv6, answering on IPv4 only: ${text}`,
          error,
        ),
      );
      return undefined;
    }
  }

  /** Binds a new socket that answers requests; the caller decides whether to keep it. */
  #bind(port: number, signal?: AbortSignal, type: 'udp4' | 'udp6' = 'udp4'): Promise<Socket> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const bindAddress = type === 'udp6' ? '::' : this.settings.bindAddress;
    // ipv6Only: a dual-stack socket cannot share the port with the IPv4 one (EADDRINUSE), and
    // IPv4 keeps its own socket and behaviour (test/network/dual-stack-bind.test.ts).
    const socket = this.#socketFactory(
      type === 'udp6'
        ? { type, ipv6Only: true, reuseAddr: false, lookup: literalLookup6 }
        : { type, reuseAddr: false, lookup: literalLookup },
    );
    return new Promise<Socket>((resolve, reject) => {
      const onAbort = () => {
        void closeSocket(socket);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        signal?.removeEventListener('abort', onAbort);
        void closeSocket(socket);
        reject(new BindError(port, bindAddress, error));
      });
      socket.on('message', (message, remote) =>
        this.#onMessage(socket, message, remote, type === 'udp6'),
      );
      // exclusive: a cluster worker binds its own socket instead of sharing the primary's, so
      // a second responder on the port fails loudly (the original shared it silently).
      socket.bind({ port, address: bindAddress, exclusive: true }, () => {
        signal?.removeEventListener('abort', onAbort);
        socket.removeAllListeners('error');
        socket.on('error', (error) => this.#onSocketError(socket, error));
        resolve(socket);
      });
    });
  }

  /**
   * A running socket failed: warn, close it and bind a fresh one on the same port, backing off
   * while that fails. The return of the socket the responder listens on (IPv4, or IPv6 with
   * `family: 'IPv6'`) is announced as `listening`; the fresh socket joins the groups again.
   */
  #onSocketError(socket: Socket, error: Error): void {
    const ipv6 = socket === this.#socket6;
    if (!ipv6 && socket !== this.#socket) return;
    const family = ipv6 ? 'IPv6 discovery socket' : 'Discovery socket';
    this.#warn(new SocketError(`${family} error, reopening it: ${error.message}`, error));
    this.#install(undefined, ipv6);
    void closeSocket(socket);
    const generation = this.#generation;
    const port = this.#port ?? this.settings.port;
    (ipv6 ? this.#reopen6 : this.#reopen).retry(
      () => this.#bind(port, undefined, ipv6 ? 'udp6' : 'udp4'),
      {
        current: () => this.#started && generation === this.#generation,
        succeeded: (fresh) => {
          this.#install(fresh, ipv6);
          this.#syncGroups();
          if (ipv6 && this.settings.family !== 'IPv6') return;
          this.emit('listening', { address: this.#listeningAddress(), port: this.#port ?? 0 });
        },
        discard: (fresh) => void closeSocket(fresh),
        failed: (failure) => this.#warn(failure as BeckonError),
      },
    );
  }

  #isCurrent(socket: Socket): boolean {
    return socket === this.#socket || socket === this.#socket6;
  }

  /**
   * A datagram on either socket. On the IPv6 socket only extended requests are answered: the
   * plain format (and the Fernet tokens that wrap it) carries an IPv4 address only, so they are
   * dropped as `not-a-request` before any content check; senders there are judged by the IPv6
   * policy and rate limited per /64 (link-local: per address and interface).
   */
  #onMessage(socket: Socket, message: Buffer, remote: RemoteInfo, ipv6: boolean): void {
    // Stopping: its goodbye is out, and a watcher checking it must hear nothing more.
    if (!this.#started) return;
    try {
      // The sender first: requests from senders this responder never answers (off-link, public)
      // are noise to it, kept out of the refusal summaries and skew warnings.
      const judged = ipv6 ? this.#judge6(remote.address) : this.#judge(remote.address);
      if (judged !== 'allowed' && judged !== 'private-off-link') {
        this.#drop(remote, judged);
        return;
      }
      if (ipv6 && !isExtended(message)) {
        this.#drop(remote, 'not-a-request');
        return;
      }
      const accepted = this.#protocol.accept(message, this.#clock.now(), this.#services);
      if ('refusal' in accepted) {
        const { refusal, skewMs } = accepted;
        this.#refusals.refused(refusal, remote.address, skewMs);
        this.#drop(remote, DROP_REASON_OF[refusal], skewMs);
        return;
      }
      // A service registered with offLink 'none' is not answered to senders behind a router.
      const request = judged === 'private-off-link' ? withoutOffLinkNone(accepted) : accepted;
      if (request.answerers.length === 0) {
        this.#drop(remote, 'off-link');
        return;
      }
      const bucket = ipv6 ? rateLimitKey(remote.address) : remote.address;
      if (ipv6 && request.kind !== 'extended') this.#drop(remote, 'not-a-request');
      else if (judged === 'private-off-link' && !this.#takeOffLink(bucket, remote.address)) {
        this.#drop(remote, 'off-link-rate-limited');
      } else if (judged === 'allowed' && !this.#limiter.take(bucket)) {
        this.#drop(remote, 'rate-limited');
      } else
        this.#reply(socket, remote, request).catch((error: unknown) =>
          this.#warn(new SocketError(`Reply via route failed: ${String(error)}`, error)),
        );
    } catch (error) {
      // Nothing a datagram contains may take the host process down.
      this.#warn(new SocketError(`Unexpected error handling a datagram: ${String(error)}`, error));
    }
  }

  /**
   * Whether an IPv4 `source` is answered (`allowed`, or `private-off-link` under the off-link
   * limits), or why it never is. Cached.
   */
  #judge(source: string): Judged {
    const interfaces = this.#interfaces.get();
    return this.#decisions.verdict(interfaces, source, () => {
      const verdict = judgeSender(source, interfaces, this.#allow, this.settings.offLink);
      if (!verdict.allowed) return verdict.reason;
      return verdict.via === 'private-off-link' ? verdict.via : 'allowed';
    });
  }

  /** {@link #judge} for an IPv6 source, by the IPv6 sender policy. */
  #judge6(source: string): Judged {
    const interfaces = this.#interfaces6.get();
    return this.#decisions6.verdict(interfaces, source, () => {
      const verdict = judgeSender6(source, {
        interfaces,
        allow: this.#allow6,
        offLink: this.settings.offLink,
      });
      if (verdict.allowed) return verdict.via === 'private-off-link' ? verdict.via : 'allowed';
      return verdict.reason === 'other-interface' ? 'off-link' : verdict.reason;
    });
  }

  /**
   * Takes a reply from the off-link limits for a private off-link sender: its own (per `bucket`)
   * and the budget all of them share. When the shared budget runs out, says so at most once a
   * minute: more private off-link senders at once than it allows is either many scans at once
   * or a flood of spoofed sources.
   */
  #takeOffLink(bucket: string, source: string): boolean {
    if (!this.#offLinkLimiter.take(bucket)) return false;
    const now = performance.now();
    if (this.#offLinkBudget.take('all', now)) return true;
    if (now - this.#offLinkNoticeAt >= OFF_LINK_NOTICE_MS) {
      this.#offLinkNoticeAt = now;
      this.#logger.warn(
        `More than ${OFF_LINK_RATE_TOTAL} requests/s from private senders behind a router ` +
          `(${source} among them): those over the budget get no reply (off-link-rate-limited). ` +
          'Many subnet scans at once, or spoofed requests; add the scanning networks to --allow ' +
          'to answer them at the normal rate. Said at most once a minute',
      );
    }
    return false;
  }

  /**
   * The address `service` advertises to an allowed `source`, why it does not answer it, or
   * undefined when the route must be asked. Cached per source and service address.
   */
  #addressFor(source: string, service: Service, ipv6: boolean): Decision | undefined {
    if (ipv6) {
      const interfaces = this.#interfaces6.get();
      return this.#decisions6.address(interfaces, source, service.addressKey, () =>
        // Where several local addresses qualify (a stable and a temporary SLAAC address), the
        // one the service listens on. `advertiseAddress` is IPv4: an IPv6 requester would drop
        // it as foreign, so it gets this host's IPv6 address toward it instead.
        this.#advertise(replyAddressFor6(source, interfaces, service.serviceAddress), service),
      );
    }
    const interfaces = this.#interfaces.get();
    return this.#decisions.address(interfaces, source, service.addressKey, () =>
      this.#advertise(
        service.fixedAddress ?? replyAddressFor(source, interfaces, service.serviceAddress),
        service,
      ),
    );
  }

  /** An allowed requester's decision: `address` if `service` serves it; undefined: ask the route. */
  #advertise(address: string | undefined, service: Service): Decision | undefined {
    if (address === undefined) return undefined;
    return serves(service, address) ? { address } : 'unreachable';
  }

  /**
   * Answers an accepted request: each answering service with its address toward the requester
   * (the routing table is asked once, for a requester outside every local subnet). A plain
   * reply says only address and HTTP port, so services that would say the same reply once.
   */
  async #reply(socket: Socket, remote: RemoteInfo, request: AcceptedRequest): Promise<void> {
    const ipv6 = socket === this.#socket6;
    const decided = request.answerers.map((answerer) => ({
      answerer,
      decision: this.#addressFor(remote.address, answerer.service, ipv6),
    }));
    let routed: string | undefined;
    if (decided.some(({ decision }) => decision === undefined)) {
      routed = await this.#routes.lookup(remote.address, ipv6 ? 'udp6' : 'udp4');
      if (!this.#isCurrent(socket)) return; // stopped or reopened meanwhile
      if (routed !== undefined && !isRoutableLocal(routed, ipv6)) routed = undefined;
    }
    const replies: Reply[] = [];
    const said = new Set<string>();
    let reason: DropReason = 'unreachable';
    for (const { answerer, decision } of decided) {
      let address: string;
      if (decision === undefined) {
        if (routed === undefined) {
          reason = 'no-address';
          continue;
        }
        if (!serves(answerer.service, routed)) continue;
        address = routed;
      } else if (typeof decision === 'string') {
        continue;
      } else {
        address = decision.address;
      }
      if (request.kind !== 'extended') {
        const id = `${address}/${answerer.service.httpPort ?? ''}`;
        if (said.has(id)) continue;
        said.add(id);
      }
      replies.push({ answerer, address });
    }
    if (replies.length === 0) this.#drop(remote, reason);
    else this.#send(socket, remote, request, replies);
  }

  #send(socket: Socket, remote: RemoteInfo, request: AcceptedRequest, replies: Reply[]): void {
    const [min, max] = this.settings.replyJitter;
    if (max === 0) {
      this.#transmit(socket, remote, request, replies);
      return;
    }
    // Bounded: under a flood from many sources, replies beyond the cap are dropped, not queued.
    if (this.#delayed.size >= MAX_DELAYED_REPLIES) {
      this.#drop(remote, 'rate-limited');
      return;
    }
    const timer = setTimeout(
      () => {
        this.#delayed.delete(timer);
        if (this.#isCurrent(socket)) this.#transmit(socket, remote, request, replies);
      },
      min + Math.random() * (max - min),
    ).unref();
    this.#delayed.add(timer);
  }

  #transmit(socket: Socket, remote: RemoteInfo, request: AcceptedRequest, replies: Reply[]): void {
    const now = this.#clock.now();
    const ipv6 = socket === this.#socket6;
    const presencePort = request.kind === 'extended' ? request.presencePort : undefined;
    for (const { answerer, address } of replies) {
      const { service } = answerer;
      if (presencePort && this.#presence.refresh(remote.address, service, presencePort, ipv6)) {
        continue;
      }
      if (answerer.service.delegated) {
        if (request.kind === 'extended') this.#delegate(socket, remote, request, answerer, address);
        continue;
      }
      const reply = this.#protocol.answer(request, answerer, address, now);
      socket.send(reply, remote.port, remote.address, this.#onSent);
      this.#replied(remote, request, answerer.service, address, reply);
    }
  }

  /**
   * Sends the answer of a keyed service of another process, signed there. Checked before it
   * leaves: an answer to this request (its nonce) from that service, so that a registrant can
   * send nothing else from this port.
   */
  #delegate(
    socket: Socket,
    remote: RemoteInfo,
    request: Extract<AcceptedRequest, { kind: 'extended' }>,
    { service }: Answerer,
    address: string,
  ): void {
    const { instanceId } = service.metadata;
    const share = this.#share;
    if (!share) return;
    share.forward(instanceId, request.datagram, address).then(
      (reply) => {
        if (!reply || !this.#isCurrent(socket)) return;
        const answer = decodeAnswer(reply);
        if (!answer?.nonce.equals(request.nonce) || answer.metadata.instanceId !== instanceId) {
          this.#warn(
            new SocketError(
              `A registered process sent a wrong answer for ${instanceId}: dropped`,
              undefined,
            ),
          );
          return;
        }
        socket.send(reply, remote.port, remote.address, this.#onSent);
        this.#replied(remote, request, service, address, reply);
      },
      (error: unknown) => this.#warn(new SocketError(`Host channel: ${String(error)}`, error)),
    );
  }

  /** Reports a sent reply to 'reply' listeners and the diagnostics channel. */
  #replied(
    remote: RemoteInfo,
    request: AcceptedRequest,
    service: Service,
    address: string,
    reply: Buffer,
  ): void {
    if (this.listenerCount('reply') === 0 && !responderChannel.hasSubscribers) return;
    const event: ReplyEvent = {
      to: remote.address,
      toPort: remote.port,
      address,
      kind: request.kind,
      reply: this.#protocol.describe(request, service, address),
      bytes: reply.byteLength,
      instanceId: service.metadata.instanceId,
    };
    this.emit('reply', event);
    responderChannel.publish({ type: 'reply', port: this.#port, ...event });
  }

  // One callback for every send, not a closure per datagram; dgram's error names the address.
  readonly #onSent = (error: Error | null): void => {
    if (error) this.#warn(new SocketError(`Reply failed: ${error.message}`, error));
  };

  #drop(remote: RemoteInfo, reason: DropReason, skewMs?: number): void {
    if (this.listenerCount('drop') > 0 || responderChannel.hasSubscribers) {
      const event: DropEvent = {
        from: remote.address,
        fromPort: remote.port,
        reason,
        ...(skewMs === undefined ? {} : { skewMs }),
      };
      this.emit('drop', event);
      responderChannel.publish({ type: 'drop', port: this.#port, ...event });
    }
  }

  #warn(error: BeckonError): void {
    this.#logger.warn(error.message);
    this.emit('warning', error);
  }
}

/** Sockets just bound, and the port they got. */
interface Bound {
  readonly socket?: Socket | undefined;
  readonly socket6?: Socket | undefined;
  readonly port: number;
}

/**
 * Whether a requester is answered: `allowed` (under `rateLimit`), `private-off-link` (under the
 * off-link limits), or why not.
 */
type Judged = DropReason | 'allowed' | 'private-off-link';

/** What a requester gets from one service: the address to advertise to it, or why no reply. */
type Decision = { readonly address: string } | DropReason;

/** One datagram to send: a service's answer, advertising `address`. */
interface Reply {
  readonly answerer: Answerer;
  readonly address: string;
}

/**
 * Decisions per source (is it answered at all) and per source and service address (what it is
 * sent), valid for one interface snapshot (a new snapshot clears them), and bounded in size.
 * An undefined address decision (ask the route) is not kept.
 */
class DecisionCache<I> {
  #verdicts = new Map<string, Judged>();
  #addresses = new Map<string, Decision>();
  #snapshot: readonly I[] | undefined;

  verdict(snapshot: readonly I[], source: string, judge: () => Judged): Judged {
    this.#refresh(snapshot);
    let verdict = this.#verdicts.get(source);
    if (verdict === undefined) {
      verdict = judge();
      this.#verdicts.set(source, verdict);
    }
    return verdict;
  }

  address(
    snapshot: readonly I[],
    source: string,
    addressKey: string,
    decide: () => Decision | undefined,
  ): Decision | undefined {
    this.#refresh(snapshot);
    const key = `${addressKey} ${source}`;
    const cached = this.#addresses.get(key);
    if (cached !== undefined) return cached;
    const decision = decide();
    if (decision !== undefined) this.#addresses.set(key, decision);
    return decision;
  }

  #refresh(snapshot: readonly I[]): void {
    if (
      snapshot !== this.#snapshot ||
      this.#verdicts.size >= MAX_CACHED_DECISIONS ||
      this.#addresses.size >= MAX_CACHED_DECISIONS
    ) {
      this.#verdicts.clear();
      this.#addresses.clear();
      this.#snapshot = snapshot;
    }
  }
}

/** `request` without the services that answer no off-link sender (their `offLink` 'none'). */
function withoutOffLinkNone(request: AcceptedRequest): AcceptedRequest {
  if (request.answerers.every((answerer) => answerer.service.offLink !== 'none')) return request;
  return {
    ...request,
    answerers: request.answerers.filter((answerer) => answerer.service.offLink !== 'none'),
  };
}

/** Whether `address` (from a route lookup) can be advertised: not unspecified, not loopback. */
function isRoutableLocal(address: string, ipv6: boolean): boolean {
  if (!ipv6) {
    const ip = parseIPv4(address);
    return ip !== undefined && ip !== 0 && !isLoopback(ip);
  }
  const parsed = parseIPv6(address);
  if (!parsed) return false;
  const kind = classifyIPv6(parsed.value);
  return kind === 'global' || kind === 'unique-local';
}

/** {@link literalLookup} for the IPv6 socket: requesters' addresses are IPv6 literals. */
const literalLookup6: NonNullable<SocketOptions['lookup']> = (address, _options, callback) =>
  callback(null, address, 6);
