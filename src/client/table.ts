/**
 * The table of servers one discovery run has heard: one entry per logical server. A beckon
 * server (its answers carry an instance id) heard on several paths (IPv4 and IPv6, several
 * interfaces) is one entry with every address; an original server (plain replies, no instance
 * id) is one entry per `ip:port`, as the original client dedupes. An extended answer that
 * claims an `ip:port` already heard in a plain reply is the same server: that is how a beckon
 * server's plain reply and its IPv6 answers end up in one entry. Pure: no sockets, no timers.
 */
import { serverUrl } from '../network/ipv6.js';
import type { ServerMetadata } from '../protocol/extended.js';
import { type LocalNetworks, rankAddresses, type ServerAddress } from './addresses.js';
import type { DiscoverSettings } from './options.js';
import type { Server } from './server.js';

/** What one believed reply says, with where it came from. */
export interface Sighting {
  /** The address the server claims, with its zone for a link-local IPv6 one. */
  readonly address: ServerAddress;
  readonly port: number;
  readonly source: string;
  readonly sourcePort: number;
  readonly raw: string;
  readonly foreign: boolean;
  readonly metadata: ServerMetadata | undefined;
}

/**
 * What {@link ServerTable.add} did with a sighting: a new server, a new address of a known one,
 * nothing new (an address already known; or one beyond {@link MAX_ADDRESSES_PER_SERVER}), or
 * nothing at all (a new server when new ones are not taken).
 */
export type AddOutcome = 'new' | 'new-address' | 'changed' | 'duplicate' | 'refused';

/** What {@link ServerTable.add} returns: the outcome and, when filed, the server as it stands. */
export type Filed =
  | { readonly outcome: 'refused' }
  | {
      readonly outcome: Exclude<AddOutcome, 'refused'>;
      /** The server's id in this table: stable while it is there (a merge keeps the older). */
      readonly id: number;
      readonly server: () => Server;
    };

/** Addresses kept per server: a real host has a handful; a forger must not grow the table. */
export const MAX_ADDRESSES_PER_SERVER = 16;

interface Entry {
  readonly order: number;
  port: number;
  metadata: ServerMetadata | undefined;
  /** By address (with zone): the sighting with the lowest RTT. */
  readonly sightings: Map<string, Sighting>;
}

/** Every logical server of a run, in the order they were first heard. */
export class ServerTable {
  readonly #local: LocalNetworks;
  readonly #protocol: Pick<DiscoverSettings, 'mode' | 'authenticated'>;
  readonly #entries: Entry[] = [];
  readonly #byInstance = new Map<string, Entry>();
  /** IPv4 `ip:port` (what the original client dedupes by) -> entry. */
  readonly #byEndpoint = new Map<string, Entry>();
  #order = 0;

  constructor(local: LocalNetworks, protocol: Pick<DiscoverSettings, 'mode' | 'authenticated'>) {
    this.#local = local;
    this.#protocol = protocol;
  }

  /** How many logical servers. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * Files a sighting under its server. When it links two entries (a plain reply first, an
   * IPv6 answer next, then the IPv4 answer that names both), they become one. A server keeps
   * one instance id, one port and at most {@link MAX_ADDRESSES_PER_SERVER} addresses, so that
   * forged answers cannot grow its entry; `takeNew: false` files only under known servers.
   */
  add(sighting: Sighting, takeNew = true): Filed {
    const instance = sighting.metadata?.instanceId;
    const endpoint = endpointOf(sighting);
    const byInstance = instance === undefined ? undefined : this.#byInstance.get(instance);
    // An endpoint names the same server unless that server already has another instance id.
    const named = endpoint === undefined ? undefined : this.#byEndpoint.get(endpoint);
    const otherInstance = instance !== undefined && named?.metadata?.instanceId !== undefined;
    const byEndpoint =
      otherInstance && named?.metadata?.instanceId !== instance ? undefined : named;
    let entry: Entry;
    let outcome: Exclude<AddOutcome, 'refused'>;
    if (byInstance && byEndpoint && byInstance !== byEndpoint) {
      entry = this.#merge(byInstance, byEndpoint);
      outcome = this.#outcomeFor(entry, sighting);
    } else if (byInstance ?? byEndpoint) {
      entry = (byInstance ?? byEndpoint) as Entry;
      outcome = this.#outcomeFor(entry, sighting);
    } else if (!takeNew) {
      return { outcome: 'refused' };
    } else {
      entry = {
        order: this.#order++,
        port: sighting.port,
        metadata: undefined,
        sightings: new Map(),
      };
      this.#entries.push(entry);
      outcome = 'new';
    }
    keepFastest(entry, sighting);
    if (
      outcome === 'duplicate' &&
      sighting.metadata !== undefined &&
      (entry.metadata === undefined || entry.metadata.instanceId === instance) &&
      JSON.stringify(entry.metadata) !== JSON.stringify(sighting.metadata)
    ) {
      // It now says who it is (a plain reply came first), or changed its name or version.
      entry.metadata = sighting.metadata;
      outcome = 'changed';
    }
    entry.metadata ??= sighting.metadata;
    if (instance !== undefined && entry.metadata?.instanceId === instance) {
      this.#byInstance.set(instance, entry);
    }
    const stored = entry.sightings.has(sighting.address.address) && sighting.port === entry.port;
    if (endpoint !== undefined && stored && !this.#byEndpoint.has(endpoint)) {
      this.#byEndpoint.set(endpoint, entry);
    }
    const filed = entry;
    return { outcome, id: filed.order, server: () => this.#snapshot(filed) };
  }

  /**
   * Files the sightings of one server (a registry record's addresses) at once: what
   * {@link ServerTable.add} did with them taken together, so that a new server is reported once
   * with every address rather than once and then an update per address.
   */
  addAll(sightings: readonly Sighting[], takeNew = true): Filed {
    let last: Filed = { outcome: 'refused' };
    let created: number | undefined;
    let best: Exclude<AddOutcome, 'refused' | 'new'> = 'duplicate';
    const rank = { duplicate: 0, changed: 1, 'new-address': 2 } as const;
    for (const sighting of sightings) {
      const filed = this.add(sighting, takeNew);
      if (filed.outcome === 'refused') continue;
      last = filed;
      if (filed.outcome === 'new') created = filed.id;
      else if (rank[filed.outcome] > rank[best]) best = filed.outcome;
    }
    if (last.outcome === 'refused') return last;
    // New, unless it joined a server already here (its id is then the older one's).
    const outcome = created === last.id ? 'new' : created !== undefined ? 'new-address' : best;
    return { ...last, outcome };
  }

  /** The server with `id`, as it stands, or undefined when it is not (or no longer) here. */
  get(id: number): Server | undefined {
    const entry = this.#entries.find((e) => e.order === id);
    return entry && this.#snapshot(entry);
  }

  /** The id of the server with `instanceId`, if it is here. */
  idOf(instanceId: string): number | undefined {
    return this.#byInstance.get(instanceId)?.order;
  }

  /** Every server with its id, in the order first heard. */
  entries(): { id: number; server: Server }[] {
    return this.#entries.map((entry) => ({ id: entry.order, server: this.#snapshot(entry) }));
  }

  /** Removes the server with `id` (a watcher saw it go); returns it as it last stood. */
  remove(id: number): Server | undefined {
    const index = this.#entries.findIndex((e) => e.order === id);
    const entry = this.#entries[index];
    if (!entry) return undefined;
    const server = this.#snapshot(entry);
    this.#entries.splice(index, 1);
    for (const map of [this.#byInstance, this.#byEndpoint]) {
      for (const [key, value] of map) if (value === entry) map.delete(key);
    }
    return server;
  }

  /**
   * Drops the sightings of server `id` that `keep` refuses (the addresses of a path that lost
   * it), then files `instead` under it (what the other path says), unless no address would be
   * left. Returns whether anything changed.
   */
  prune(
    id: number,
    keep: (sighting: Sighting) => boolean,
    instead: readonly Sighting[] = [],
  ): boolean {
    const entry = this.#entries.find((e) => e.order === id);
    if (!entry) return false;
    const gone = [...entry.sightings].filter(([, sighting]) => !keep(sighting));
    if (gone.length === entry.sightings.size && instead.length === 0) return false;
    const before = [...entry.sightings.values()];
    for (const [address] of gone) entry.sightings.delete(address);
    for (const sighting of instead) keepFastest(entry, sighting);
    for (const [key, value] of this.#byEndpoint) {
      if (value === entry && !entry.sightings.has(key.slice(0, key.lastIndexOf(':')))) {
        this.#byEndpoint.delete(key);
      }
    }
    const after = [...entry.sightings.values()];
    return after.length !== before.length || after.some((s, i) => s !== before[i]);
  }

  #outcomeFor(entry: Entry, sighting: Sighting): Exclude<AddOutcome, 'refused'> {
    const stored = entry.sightings.get(sighting.address.address);
    // An address read from a registry, now heard on the LAN: a new path to it.
    if (stored?.address.via === 'registry' && sighting.address.via !== 'registry') {
      return 'new-address';
    }
    const known = stored !== undefined;
    return known || entry.sightings.size >= MAX_ADDRESSES_PER_SERVER ? 'duplicate' : 'new-address';
  }

  /** Every server as it stands, in the order first heard. */
  servers(): Server[] {
    return this.#entries.map((entry) => this.#snapshot(entry));
  }

  /** Makes two entries one; the one heard first keeps its place. Returns it. */
  #merge(a: Entry, b: Entry): Entry {
    const [keep, drop] = a.order < b.order ? [a, b] : [b, a];
    for (const sighting of drop.sightings.values()) keepFastest(keep, sighting);
    keep.metadata ??= drop.metadata;
    this.#entries.splice(this.#entries.indexOf(drop), 1);
    for (const map of [this.#byInstance, this.#byEndpoint]) {
      for (const [key, entry] of map) if (entry === drop) map.set(key, keep);
    }
    return keep;
  }

  #snapshot(entry: Entry): Server {
    const sightings = [...entry.sightings.values()];
    const addresses = rankAddresses(
      sightings.map((s) => s.address),
      this.#local,
    );
    const best = addresses[0];
    // The sighting of the preferred address tells how it was reached.
    const path = (best && entry.sightings.get(best.address)) ?? (sightings[0] as Sighting);
    const ip = best?.address ?? path.address.address;
    const scheme = entry.metadata?.scheme ?? 'http';
    return {
      ip,
      family: best?.family ?? path.address.family,
      port: entry.port,
      url: serverUrl(scheme, ip, entry.port) ?? `${scheme}://${ip}:${entry.port}`,
      addresses,
      source: path.source,
      sourcePort: path.sourcePort,
      interface: path.address.interface,
      via: path.address.via,
      rttMs: path.address.rtt ?? 0,
      raw: path.raw,
      foreign: sightings.some((s) => s.foreign),
      protocol: this.#protocol.mode,
      authenticated: this.#protocol.authenticated,
      metadata: entry.metadata,
    };
  }
}

/**
 * Files `sighting` under its address. An address heard again keeps its first sighting (so a
 * plain-mode result keeps the original's reply text) with the lowest RTT of the two. Beyond
 * {@link MAX_ADDRESSES_PER_SERVER} new addresses are dropped.
 */
function keepFastest(entry: Entry, sighting: Sighting): void {
  const key = sighting.address.address;
  const known = entry.sightings.get(key);
  if (known === undefined) {
    if (entry.sightings.size < MAX_ADDRESSES_PER_SERVER) entry.sightings.set(key, sighting);
    return;
  }
  // An address read from a registry and then heard on the LAN is the LAN's: a path measured.
  if (known.address.via === 'registry' && sighting.address.via !== 'registry') {
    entry.sightings.set(key, sighting);
    return;
  }
  const rtt = (s: Sighting) => s.address.rtt ?? Number.POSITIVE_INFINITY;
  if (rtt(sighting) < rtt(known)) {
    entry.sightings.set(key, {
      ...known,
      address: { ...known.address, rtt: sighting.address.rtt },
    });
  }
}

/** `ip:port` of an IPv4 sighting: the original client's identity of a server. */
function endpointOf(sighting: Sighting): string | undefined {
  return sighting.address.family === 'IPv4'
    ? `${sighting.address.address}:${sighting.port}`
    : undefined;
}
