/**
 * A responder's presence (docs/presence.md): its announcer while it answers, its own announcer
 * while it is registered with a key, and the links a watcher's refresh query came over. The
 * responder keeps its sockets and hands them in.
 */
import type { Socket } from 'node:dgram';
import type { Clock } from '../clock.js';
import { SocketError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { InterfaceCache } from '../network/interface-cache.js';
import { interfaceFor, type NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import { isLoopback, parseIPv4 } from '../network/ipv4.js';
import { ipv6CidrContains, parseIPv6 } from '../network/ipv6.js';
import { closeSocket, literalLookup, type SocketFactory } from '../network/socket.js';
import { defaultAnnouncePort } from '../options.js';
import { type AnnounceLink, Announcer, announceLinks } from './announcer.js';
import type { ResponderSettings } from './options.js';
import { type Service, serves } from './services.js';

/** What presence needs from its responder. */
export interface PresenceContext {
  readonly settings: ResponderSettings;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly socketFactory: SocketFactory;
  readonly interfaces: InterfaceCache<NetworkInterface>;
  readonly interfaces6: InterfaceCache<IPv6InterfaceAddress>;
  /** The discovery sockets now (none while registered). */
  sockets(): { ipv4: Socket | undefined; ipv6: Socket | undefined };
  /** The discovery port now. */
  port(): number;
  warn(error: SocketError): void;
}

/**
 * Announcements of one responder. Named states follow its role: `answering` (announces every
 * service it answers for), `registered` (announces its own service itself when it has keys,
 * which the answering process cannot sign), `off`.
 */
export class ResponderPresence {
  readonly #context: PresenceContext;
  readonly #own: Service;
  #state: 'off' | 'answering' | 'registered' = 'off';
  #announcer: Announcer | undefined;
  #ownAnnouncer: { announcer: Announcer; socket: Socket } | undefined;

  constructor(context: PresenceContext, own: Service) {
    this.#context = context;
    this.#own = own;
  }

  /** Starts (or, after a takeover, restarts) announcing from the discovery sockets. */
  answering(services: readonly Service[]): void {
    this.#state = 'answering';
    void this.#stopOwn(false); // the answering announcer takes this service over
    if (!this.#context.settings.announce) return;
    this.#announcer ??= this.#newAnnouncer(this.#context.sockets);
    this.update(services);
  }

  /**
   * Registered: a keyed service announces itself, from a socket of its own (IPv4), and says
   * goodbye when it stops; its key never leaves this process.
   */
  registered(): void {
    this.#state = 'registered';
    this.#announceOwn().catch((error: unknown) =>
      this.#context.warn(new SocketError(`Announcing: ${String(error)}`, error)),
    );
  }

  /** The links or the services changed: announces what is new, says goodbye for what went. */
  update(services: readonly Service[]): void {
    const { ipv4, ipv6 } = this.#context.sockets();
    this.#announcer?.update(this.#links(!!ipv4, !!ipv6), services);
  }

  /**
   * Answers a watcher's refresh query from `source` with an announcement of `service` to its
   * link (every watcher there hears it), if this responder announces there; false otherwise.
   */
  refresh(source: string, service: Service, port: number, ipv6: boolean): boolean {
    const announcer = this.#announcer;
    if (!announcer) return false;
    const link = ipv6 ? this.#linkOf6(source) : this.#linkOf4(source);
    return link !== undefined && announcer.refresh(service, link, ipv6 ? 'IPv6' : 'IPv4', port);
  }

  /** Goodbyes for everything announced (while the sockets are still open), then silence. */
  async stop(): Promise<void> {
    this.#state = 'off';
    this.#announcer?.stop();
    this.#announcer = undefined;
    await this.#stopOwn(true);
  }

  #newAnnouncer(sockets: () => { ipv4: Socket | undefined; ipv6: Socket | undefined }): Announcer {
    const { settings, clock } = this.#context;
    return new Announcer({
      lease: settings.lease,
      port: settings.announcePort ?? defaultAnnouncePort(this.#context.port()),
      clock,
      hooks: {
        send: (datagram, link, port) => {
          const { ipv4, ipv6 } = sockets();
          const socket = link.family === 'IPv4' ? ipv4 : ipv6;
          socket?.send(datagram, port, link.destination, this.#onSent);
        },
        addressOn: (service, link) => {
          const address =
            link.family === 'IPv4' ? (service.fixedAddress ?? link.local) : link.local;
          return serves(service, address) ? address : undefined;
        },
      },
    });
  }

  // A link that cannot carry an announcement (no route, a firewall) is no news each time.
  readonly #onSent = (error: Error | null): void => {
    if (error) this.#context.logger.debug(`Announcement not sent: ${error.message}`);
  };

  /** The links announcements go out on, for the families given. */
  #links(ipv4: boolean, ipv6: boolean): AnnounceLink[] {
    const { settings, interfaces, interfaces6 } = this.#context;
    const { joinGroups, bindAddress } = settings;
    return announceLinks(
      ipv4 ? interfaces.get() : [],
      ipv6 ? interfaces6.get() : [],
      joinGroups,
    ).filter(
      (link) =>
        link.family === 'IPv6' ||
        bindAddress === '0.0.0.0' ||
        link.local === bindAddress ||
        (isLoopback(parseIPv4(bindAddress) ?? 0) && link.local === '127.0.0.1'),
    );
  }

  async #announceOwn(): Promise<void> {
    const { settings, socketFactory, logger } = this.#context;
    if (!settings.announce || this.#own.keys.length === 0 || this.#ownAnnouncer) return;
    const socket = socketFactory({ type: 'udp4', reuseAddr: false, lookup: literalLookup });
    socket.on('error', (error) => logger.debug(`Announcement socket: ${error.message}`));
    await new Promise<void>((resolve) =>
      socket.bind({ port: 0, address: settings.bindAddress }, resolve),
    );
    if (this.#state !== 'registered' || this.#ownAnnouncer) {
      await closeSocket(socket);
      return;
    }
    socket.setBroadcast(true);
    const announcer = this.#newAnnouncer(() => ({ ipv4: socket, ipv6: undefined }));
    this.#ownAnnouncer = { announcer, socket };
    announcer.update(this.#links(true, false), [this.#own]);
  }

  /** Stops the own announcer: with goodbyes when the responder stops, quietly on a takeover. */
  async #stopOwn(goodbye: boolean): Promise<void> {
    const own = this.#ownAnnouncer;
    this.#ownAnnouncer = undefined;
    if (!own) return;
    own.announcer.stop(goodbye);
    await closeSocket(own.socket);
  }

  #linkOf4(source: string): string | undefined {
    const interfaces = this.#context.interfaces.get();
    const ip = parseIPv4(source);
    if (ip === undefined) return undefined;
    if (isLoopback(ip)) return interfaces.find((iface) => iface.loopback)?.name;
    return interfaceFor(ip, interfaces)?.name;
  }

  #linkOf6(source: string): string | undefined {
    const parsed = parseIPv6(source);
    if (!parsed) return undefined;
    if (parsed.zone !== undefined) return parsed.zone;
    return this.#context.interfaces6
      .get()
      .find((a) => a.kind !== 'loopback' && ipv6CidrContains(a.network, parsed.value))?.name;
  }
}
