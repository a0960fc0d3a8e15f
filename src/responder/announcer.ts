/**
 * The responder's announcements (docs/presence.md): where they go, when, and their bytes.
 * Sockets stay with the responder: it hands in a `send` function, the links and the services,
 * and this module decides what to send and keeps the timers of the repeats.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import { IPV6_GROUP, membershipInterface6 } from '../network/multicast.js';
import { encodeAnnouncement, NONCE_SIZE } from '../protocol/extended.js';
import type { Service } from './services.js';

/** One link announcements go out on. */
export interface AnnounceLink {
  /** Interface name: the unit of the refresh rate limit. */
  readonly name: string;
  readonly family: 'IPv4' | 'IPv6';
  /** This host's address on the link: what a service advertises there unless fixed. */
  readonly local: string;
  /** Where announcements go: a directed broadcast address, or beckon's IPv6 group with zone. */
  readonly destination: string;
}

/** Repeats of a start announcement, in ms from the first (mDNS announces so). */
const START_REPEATS_MS = [0, 1000, 2000];
/** A goodbye goes out twice, this far apart: one lost datagram must not cost a lease. */
const GOODBYE_REPEATS = 2;
/**
 * At most one refresh announcement per service and interface in this time, whichever family
 * asked: a watcher's refresh goes out over IPv4 and IPv6 at once, and one announcement answers
 * both (two would double the steady-state traffic). Shorter than a watcher's retry interval
 * (250 ms), so that each retry of a watcher whose announcement was lost is answered.
 */
const REFRESH_INTERVAL_MS = 200;
/** Services whose last refresh time is kept at most (bounded under a host full of records). */
const MAX_REFRESH_ENTRIES = 4096;

/**
 * The links to announce on: with `wide`, every IPv4 interface with a broadcast address and every
 * IPv6 interface with a link-local address (beckon's group there); always IPv4 loopback
 * (`127.255.255.255`), for watchers on this host. Without `wide` (`joinGroups: false`), loopback
 * only: nothing goes out on a real link.
 */
export function announceLinks(
  interfaces: readonly NetworkInterface[],
  interfaces6: readonly IPv6InterfaceAddress[],
  wide: boolean,
): AnnounceLink[] {
  const links: AnnounceLink[] = [];
  const seen = new Set<string>();
  for (const iface of interfaces) {
    if (!iface.up || seen.has(iface.name)) continue;
    if (iface.loopback) {
      seen.add(iface.name);
      links.push({
        name: iface.name,
        family: 'IPv4',
        local: '127.0.0.1',
        destination: '127.255.255.255',
      });
    } else if (wide && iface.broadcast !== undefined) {
      seen.add(iface.name);
      links.push({
        name: iface.name,
        family: 'IPv4',
        local: iface.address,
        destination: iface.broadcast,
      });
    }
  }
  if (!wide) return links;
  const seen6 = new Set<string>();
  for (const address of interfaces6) {
    if (address.kind !== 'link-local' || seen6.has(address.name)) continue;
    if (membershipInterface6(address.name) === undefined) continue;
    seen6.add(address.name);
    // The routable address of the link when it has one: a watcher elsewhere can use it.
    const routable = interfaces6.find(
      (a) => a.name === address.name && (a.kind === 'global' || a.kind === 'unique-local'),
    );
    links.push({
      name: address.name,
      family: 'IPv6',
      local: routable?.address ?? `${address.address}%${address.name}`,
      destination: `${IPV6_GROUP}%${address.name}`,
    });
  }
  return links;
}

/** What the announcer needs from its responder. */
export interface AnnouncerHooks {
  /** Sends one datagram to `link.destination`, port `port`. Never throws. */
  send(datagram: Buffer, link: AnnounceLink, port: number): void;
  /** The address `service` advertises on `link`, or undefined when it is not reached there. */
  addressOn(service: Service, link: AnnounceLink): string | undefined;
}

/** Options of an {@link Announcer}. */
export interface AnnouncerOptions {
  readonly lease: number;
  /** Where watchers listen: the announcement port. */
  readonly port: number;
  readonly clock: Clock;
  readonly hooks: AnnouncerHooks;
}

/**
 * Announces the services a responder answers for. Named states: `idle` (nothing sent yet),
 * `announcing` (links and services known; new ones are announced, gone ones said goodbye to),
 * `stopped` (goodbyes sent, timers cleared). A delegated service (keyed, of another process)
 * is never announced: its key is not here.
 */
export class Announcer {
  #state: 'idle' | 'announcing' | 'stopped' = 'idle';
  readonly #options: AnnouncerOptions;
  #links: AnnounceLink[] = [];
  /** Announced services by instance id. */
  #services = new Map<string, Service>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /** `<instance id> <link>` -> when last refreshed (performance.now()). */
  readonly #refreshed = new Map<string, number>();

  constructor(options: AnnouncerOptions) {
    this.#options = options;
  }

  get state(): 'idle' | 'announcing' | 'stopped' {
    return this.#state;
  }

  /**
   * The links and services now. Announces (three times) every service on a link that is new or
   * whose address changed, and every new service everywhere; says goodbye for services gone.
   */
  update(links: readonly AnnounceLink[], services: readonly Service[]): void {
    if (this.#state === 'stopped') return;
    const announced = services.filter((service) => !service.delegated);
    const before = new Map(this.#links.map((link) => [linkKey(link), link]));
    const fresh = links.filter((link) => !before.has(linkKey(link)));
    const kept = links.filter((link) => before.has(linkKey(link)));
    // The same service again (records are rebuilt on every change) keeps its pending repeats.
    const next = new Map<string, Service>();
    const added: Service[] = [];
    for (const service of announced) {
      const id = service.metadata.instanceId;
      const known = this.#services.get(id);
      const same = known !== undefined && describe(known) === describe(service);
      next.set(id, same ? known : service);
      if (!same) added.push(service);
    }
    for (const [id, service] of this.#services) {
      if (!next.has(id)) this.#goodbye(service, kept);
    }
    this.#links = [...links];
    this.#services = next;
    this.#state = 'announcing';
    this.#repeat(added, links);
    this.#repeat(
      [...next.values()].filter((service) => !added.includes(service)),
      fresh,
    );
  }

  /**
   * A watcher on `link` asked for a refresh (to `port`): one announcement of `service` there,
   * unless one went out on that interface (either family) in the last 200 ms. Returns false
   * when the link is not one announced on (the caller answers by unicast then).
   */
  refresh(service: Service, linkName: string, family: 'IPv4' | 'IPv6', port: number): boolean {
    if (this.#state !== 'announcing' || service.delegated) return false;
    const link = this.#links.find((l) => l.name === linkName && l.family === family);
    if (!link) return false;
    const key = `${service.metadata.instanceId} ${link.name}`;
    const now = performance.now();
    const last = this.#refreshed.get(key);
    if (last !== undefined && now - last < REFRESH_INTERVAL_MS) return true;
    if (this.#refreshed.size >= MAX_REFRESH_ENTRIES) this.#refreshed.clear();
    this.#refreshed.set(key, now);
    this.#send(service, link, this.#options.lease, port);
    return true;
  }

  /**
   * Says goodbye for every service on every link (twice), then stays silent. `goodbye: false`:
   * silent at once (another announcer takes over these services).
   */
  stop(goodbye = true): void {
    if (this.#state === 'stopped') return;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#state === 'announcing' && goodbye) {
      for (const service of this.#services.values()) this.#goodbye(service, this.#links);
    }
    this.#state = 'stopped';
  }

  /** Announces `services` on `links` now and at each repeat. */
  #repeat(services: readonly Service[], links: readonly AnnounceLink[]): void {
    if (services.length === 0 || links.length === 0) return;
    for (const delay of START_REPEATS_MS) {
      const run = () => {
        for (const service of services) {
          // Gone or changed meanwhile: its goodbye or its new announcement is on its way.
          if (this.#services.get(service.metadata.instanceId) !== service) continue;
          const current = new Set(this.#links.map(linkKey));
          for (const link of links) {
            if (current.has(linkKey(link))) this.#send(service, link, this.#options.lease);
          }
        }
      };
      if (delay === 0) {
        run();
        continue;
      }
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        run();
      }, delay).unref();
      this.#timers.add(timer);
    }
  }

  #goodbye(service: Service, links: readonly AnnounceLink[]): void {
    for (let i = 0; i < GOODBYE_REPEATS; i++) {
      for (const link of links) this.#send(service, link, 0);
    }
  }

  #send(service: Service, link: AnnounceLink, lease: number, port = this.#options.port): void {
    const address = this.#options.hooks.addressOn(service, link);
    if (address === undefined) return;
    const datagram = encodeAnnouncement(
      {
        nonce: randomBytes(NONCE_SIZE),
        timestamp: this.#options.clock.now(),
        address,
        port: service.httpPort,
        metadata: service.metadata,
        lease,
      },
      service.keys[0],
    );
    this.#options.hooks.send(datagram, link, port);
  }
}

/** What an announcement of `service` says: equal, and nothing new to announce. */
function describe(service: Service): string {
  const { metadata, httpPort, addressKey, keys } = service;
  return JSON.stringify([metadata, httpPort ?? null, addressKey, keys.length]);
}

function linkKey(link: AnnounceLink): string {
  return `${link.family} ${link.name} ${link.local} ${link.destination}`;
}
