/**
 * The registry path of a discovery run (docs/registry.md, "Finding servers through the
 * registry"): the records read from a registry become sightings in the run's table, beside the
 * LAN's, `via: 'registry'`. Asking once, the registry is read once, in parallel with the LAN
 * requests; watching, it is read and then followed. A registry that cannot be reached is a
 * warning, never a failure of the run.
 *
 * Named states: `idle`, `reading` (the first read), `following` (watching: changes arrive),
 * `outage` (watching: the registry is unreachable; servers held only by it are kept for one
 * lease), `done` (asking once: read or given up), `stopped`.
 */
import type { ServerMetadata } from '../protocol/extended.js';
import { registryReason } from '../registry/adapter.js';
import { normalizeServerAddress } from './addresses.js';
import type { Sighting } from './table.js';

/** A record as the client uses it: decoded (and, with a key, verified) by the registry core. */
export interface RegistryRecord {
  readonly metadata: ServerMetadata;
  /** The server's addresses as it registered them. */
  readonly addresses: readonly string[];
  /** Its application's port. */
  readonly port: number;
  /** Milliseconds the record lives without its server keeping it alive. */
  readonly lease: number;
  /** A goodbye marker: the server is stopping, the record is about to be deleted. */
  readonly goodbye: boolean;
}

/** What a record's value decodes to: the record, or why it is not believed. */
export type DecodedRecord = { readonly record: RegistryRecord } | { readonly drop: string };

/** One key and its value. */
export interface FeedEntry {
  readonly key: string;
  readonly value: string;
}

/** What a followed registry reports. */
export interface FeedEvents {
  /** Every entry now: at start, and again after each outage. Anything not in it is gone. */
  sync(entries: readonly FeedEntry[]): void;
  put(entry: FeedEntry): void;
  delete(key: string): void;
  /** The registry became unreachable (once per outage). */
  lost(error: unknown): void;
  /** It is reachable again (a `sync` follows). */
  restored(): void;
}

/** What the client needs of a registry engine (src/registry's connection, narrowed). */
export interface RegistryFeed {
  /** Where it is, for messages (never with a password). */
  readonly endpoint: string;
  /** Every entry now. Rejects when the registry cannot be read within `timeoutMs`. */
  list(timeoutMs: number): Promise<readonly FeedEntry[]>;
  /** Follows the entries: a `sync`, then changes, until closed. */
  follow(events: FeedEvents): void;
  /** Closes the connection; never rejects. */
  close(): Promise<void>;
}

/** A configured registry, as a run uses it (made from the `registry` option). */
export interface RegistrySource {
  /** Opens the feed (loading the registry client); rejects with a message for people. */
  open(): Promise<RegistryFeed>;
  /** Decodes and checks a record's value (with a key: only a record signed with it). */
  decode(key: string, value: string): DecodedRecord;
}

/** What the path needs of its run. */
export interface RegistryHost {
  /** Watching (follow the registry) or asking once (read it once). */
  readonly watching: boolean;
  /** Only records of this service count. */
  readonly service: string | undefined;
  /** The registry, for messages (without a password). */
  readonly endpoint: string;
  /** The run's family: only addresses of it count. */
  readonly family: 'any' | 'IPv4' | 'IPv6';
  /** Asking once: milliseconds the read may take (the run's deadline). */
  readonly timeout: number;
  /** Opens the feed (loading the registry client); rejects with a message for people. */
  open(): Promise<RegistryFeed>;
  /** Decodes and checks a record's value. */
  decode(key: string, value: string): DecodedRecord;
  /** Files the sightings of one record (one server, at `key`) as a reply's are. */
  file(key: string, sightings: readonly Sighting[]): void;
  /** Drops the registry addresses of server `instanceId` that `keep` refuses (it moved). */
  moved(instanceId: string, keep: ReadonlySet<string>): void;
  /** The registry no longer holds server `instanceId`. */
  lost(instanceId: string, reason: 'goodbye' | 'expired'): void;
  /** Asking once: the read is over (done or given up). */
  read(): void;
  log(level: 'debug' | 'warn', text: string): void;
  /** Reports on the run's trace. */
  trace(event: RegistryTrace): void;
}

/** A registry event of the run's trace (`registry` names the registry). */
export interface RegistryTrace {
  readonly action: 'read' | 'refused' | 'gone' | 'lost' | 'restored';
  readonly key?: string;
  readonly detail?: string;
}

/** Past the end of a record's lease during an outage, before its server is given up. */
export const OUTAGE_GRACE_MS = 1000;
/**
 * Records one run holds at most: the registry is fed by every writer that can reach it, and a
 * flood of records must not grow a watcher without end. Past it, new records are refused.
 */
export const MAX_REGISTRY_RECORDS = 4096;
/** Records refused that are warned about; the rest are debug lines. */
const MAX_REFUSED_WARNINGS = 3;

interface Held {
  readonly instanceId: string;
  /** When this record was first read (`performance.now()`). */
  readonly since: number;
  readonly lease: number;
  readonly addresses: ReadonlySet<string>;
  readonly sightings: readonly Sighting[];
}

type State = 'idle' | 'reading' | 'following' | 'outage' | 'done' | 'stopped';

/** The registry path of one run; see the module's comment. */
export class RegistryPath {
  readonly #host: RegistryHost;
  #state: State = 'idle';
  #feed: RegistryFeed | undefined;
  /** The records believed, by key. */
  readonly #held = new Map<string, Held>();
  readonly #timers = new Set<NodeJS.Timeout>();
  /**
   * Watching: a timer that holds the process open while the registry is followed, as a LAN
   * socket does. The registry client's retries are unref'd, so a watcher with no LAN path
   * would otherwise exit while etcd is down (at start, or restarting).
   */
  #alive: NodeJS.Timeout | undefined;
  #refused = 0;
  #warnedFull = false;
  /** When the current outage began; undefined while the registry answers. */
  #lostAt: number | undefined;
  /** The registry, as messages name it. */
  #endpoint: string;

  constructor(host: RegistryHost) {
    this.#host = host;
    this.#endpoint = host.endpoint;
  }

  /** Whether the registry holds server `instanceId`. */
  holds(instanceId: string | undefined): boolean {
    if (instanceId === undefined) return false;
    for (const held of this.#held.values()) if (held.instanceId === instanceId) return true;
    return false;
  }

  /** What the registry says of server `instanceId` now: its sightings. */
  sightingsOf(instanceId: string | undefined): Sighting[] {
    const sightings: Sighting[] = [];
    for (const held of this.#held.values()) {
      if (held.instanceId === instanceId) sightings.push(...held.sightings);
    }
    return sightings;
  }

  /**
   * When server `instanceId` was first read, and last known to be there: now while the registry
   * is followed and holds it (it would have said otherwise), the start of an outage during one.
   */
  seen(instanceId: string | undefined): { since: number; last: number } | undefined {
    let since: number | undefined;
    for (const held of this.#held.values()) {
      if (held.instanceId === instanceId) since = Math.min(since ?? held.since, held.since);
    }
    if (since === undefined) return undefined;
    return { since, last: this.#lostAt ?? performance.now() };
  }

  /** Whether the one-shot read is over (asking once). */
  get done(): boolean {
    return this.#state === 'done';
  }

  /** Opens the registry, and reads it (asking once) or follows it; never rejects. */
  start(): Promise<void> {
    // The run does not await this: a throw from its callbacks must not be an unhandled rejection.
    return this.#start().catch((error: unknown) =>
      this.#host.log('warn', `Unexpected error reading the registry: ${String(error)}`),
    );
  }

  async #start(): Promise<void> {
    if (this.#state !== 'idle') return;
    this.#state = 'reading';
    if (this.#host.watching) this.#alive = setInterval(() => {}, 2 ** 30);
    const started = performance.now();
    let feed: RegistryFeed;
    try {
      feed = await this.#host.open();
    } catch (error) {
      this.#host.log('warn', `Registry ${this.#endpoint} not read: ${message(error)}`);
      return this.#finish();
    }
    this.#feed = feed;
    this.#endpoint = feed.endpoint;
    if ((this.#state as State) === 'stopped') {
      void feed.close();
      return;
    }
    if (this.#host.watching) {
      feed.follow({
        sync: (entries) => this.#guard(() => this.#sync(entries)),
        put: (entry) => this.#guard(() => this.#put(entry.key, entry.value)),
        delete: (key) => this.#guard(() => this.#delete(key)),
        lost: (error) => this.#guard(() => this.#outage(error)),
        restored: () =>
          this.#guard(() => {
            this.#host.trace({ action: 'restored' });
            this.#host.log('warn', `Registry ${this.#endpoint} reachable again`);
          }),
      });
      return;
    }
    try {
      // The run's deadline gives it up (stop): the list's own time limit is only a backstop.
      const left = Math.max(this.#host.timeout - (performance.now() - started), 1);
      const entries = await feed.list(left + 1000);
      if ((this.#state as State) === 'stopped') return;
      this.#host.trace({ action: 'read', detail: `${entries.length} entries` });
      for (const { key, value } of entries) this.#put(key, value);
    } catch (error) {
      if ((this.#state as State) !== 'stopped') {
        this.#host.log('warn', `Registry ${this.#endpoint} not read: ${registryReason(error)}`);
      }
    }
    this.#finish();
    void feed.close();
  }

  /**
   * Stops following and closes the connection. `deadline`: the run's deadline passed, and a
   * read still in flight is given up with a warning.
   */
  stop(deadline = false): void {
    if (this.#state === 'stopped') return;
    if (deadline && this.#state === 'reading') {
      this.#host.log(
        'warn',
        `Registry ${this.#endpoint} not read: no answer within the deadline (${this.#host.timeout} ms)`,
      );
    }
    this.#state = 'stopped';
    this.#clearTimers();
    clearInterval(this.#alive);
    void this.#feed?.close();
  }

  #finish(): void {
    if (this.#state === 'stopped') return;
    this.#state = 'done';
    clearInterval(this.#alive);
    this.#host.read();
  }

  #guard(fn: () => void): void {
    try {
      if (this.#state !== 'stopped') fn();
    } catch (error) {
      this.#host.log('warn', `Unexpected error following the registry: ${String(error)}`);
    }
  }

  /** Every entry now (at start, or after an outage): what is not there any more went. */
  #sync(entries: readonly FeedEntry[]): void {
    this.#state = 'following';
    this.#lostAt = undefined;
    this.#clearTimers();
    this.#host.trace({ action: 'read', detail: `${entries.length} entries` });
    const listed = new Set(entries.map((entry) => entry.key));
    for (const [key, held] of [...this.#held]) {
      if (!listed.has(key)) this.#release(key, held, 'expired');
    }
    for (const { key, value } of entries) this.#put(key, value);
  }

  /** A record was put: a server there (new, or changed), or a goodbye marker. */
  #put(key: string, value: string): void {
    const decoded = this.#host.decode(key, value);
    if ('drop' in decoded) {
      this.#host.trace({ action: 'refused', key, detail: decoded.drop });
      const level = this.#refused++ < MAX_REFUSED_WARNINGS ? 'warn' : 'debug';
      this.#host.log(level, `Ignored registry record ${key}: ${decoded.drop}`);
      return;
    }
    const { record } = decoded;
    const before = this.#held.get(key);
    const wanted =
      this.#host.service === undefined || record.metadata.service === this.#host.service;
    if (record.goodbye || !wanted) {
      if (!wanted) this.#host.trace({ action: 'refused', key, detail: 'another service' });
      if (before) this.#release(key, before, record.goodbye ? 'goodbye' : 'expired');
      return;
    }
    const { family } = this.#host;
    const sightings = toSightings(record, value).filter(
      (s) => family === 'any' || s.address.family === family,
    );
    if (sightings.length === 0) {
      this.#host.log('debug', `Ignored registry record ${key}: no usable address`);
      if (before) this.#release(key, before, 'expired');
      return;
    }
    if (!before && this.#held.size >= MAX_REGISTRY_RECORDS) {
      this.#host.trace({ action: 'refused', key, detail: 'too many records' });
      const level = this.#warnedFull ? 'debug' : 'warn';
      this.#warnedFull = true;
      this.#host.log(
        level,
        `Ignored registry record ${key}: this run holds ${MAX_REGISTRY_RECORDS} records already (set service to read one service's)`,
      );
      return;
    }
    const addresses = new Set(sightings.map((s) => s.address.address));
    if (before && before.instanceId !== record.metadata.instanceId) {
      this.#release(key, before, 'expired');
    }
    const { instanceId } = record.metadata;
    const since = before?.instanceId === instanceId ? before.since : performance.now();
    this.#held.set(key, { instanceId, since, lease: record.lease, addresses, sightings });
    this.#host.file(key, sightings);
    if (before?.instanceId === instanceId && [...before.addresses].some((a) => !addresses.has(a))) {
      this.#host.moved(instanceId, addresses);
    }
  }

  /** A record was deleted (its goodbye marker, if any, came first as a put). */
  #delete(key: string): void {
    const held = this.#held.get(key);
    if (held) this.#release(key, held, 'expired');
  }

  /** Drops the record at `key`; its server is lost when no other record holds it. */
  #release(key: string, held: Held, reason: 'goodbye' | 'expired'): void {
    this.#held.delete(key);
    this.#host.trace({ action: 'gone', key, detail: reason });
    if (!this.holds(held.instanceId)) this.#host.lost(held.instanceId, reason);
  }

  /**
   * The registry is unreachable: a warning (once per outage); each server it holds is kept for
   * one lease (plus {@link OUTAGE_GRACE_MS}) from now, then given up as `expired`. The feed
   * reconnects by itself and syncs: servers gone meanwhile go then.
   */
  #outage(error: unknown): void {
    if (this.#state === 'outage' || this.#state === 'stopped') return;
    this.#state = 'outage';
    this.#lostAt = performance.now();
    this.#host.trace({ action: 'lost', detail: registryReason(error) });
    this.#host.log(
      'warn',
      `Registry ${this.#endpoint} unreachable (${registryReason(error)}): LAN discovery carries on; servers found only through the registry are kept for their lease`,
    );
    for (const [key, held] of this.#held) {
      this.#later(held.lease + OUTAGE_GRACE_MS, () => {
        if (this.#state === 'outage' && this.#held.get(key) === held) {
          this.#release(key, held, 'expired');
        }
      });
    }
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#guard(fn);
    }, ms);
    this.#timers.add(timer);
  }

  #clearTimers(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
  }
}

/**
 * The sightings of one record: one per usable address. The LAN path's checks apply: addresses
 * in canonical form, never unspecified, multicast or broadcast; an IPv6 link-local address is
 * dropped (its zone names an interface of the server's host, not of this one).
 * `source` is the address itself and `sourcePort` 0 (no datagram came); `raw` is the record.
 */
export function toSightings(record: RegistryRecord, raw: string): Sighting[] {
  const sightings: Sighting[] = [];
  const seen = new Set<string>();
  for (const text of record.addresses) {
    const normal = normalizeServerAddress(text);
    if (!normal || (normal.family === 'IPv6' && normal.address.includes('%'))) continue;
    if (seen.has(normal.address)) continue;
    seen.add(normal.address);
    sightings.push({
      address: { ...normal, interface: undefined, rtt: undefined, via: 'registry' },
      port: record.port,
      source: normal.address,
      sourcePort: 0,
      raw,
      foreign: false,
      metadata: record.metadata,
    });
  }
  return sightings;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
