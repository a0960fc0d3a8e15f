/**
 * A watcher's view of whether each server is still there (docs/presence.md): its lease, when to
 * ask it again, and when to give it up. Pure: no sockets, no timers; every time is a parameter
 * (`performance.now()` milliseconds), so the schedule is tested without waiting.
 */

/** How a watcher keeps its table true. */
export interface PresenceTiming {
  /** A refresh starts at this fraction of a server's lease, jittered by ±0.05. @default 0.75 */
  readonly refreshAt: number;
  /** Milliseconds between refresh queries while a server is not heard again. @default 250 */
  readonly retryInterval: number;
  /** Milliseconds past the end of the lease before a server is `expired`. @default 500 */
  readonly grace: number;
  /** Milliseconds between polls of servers without a lease (the original). @default 5000 */
  readonly pollInterval: number;
  /** Polls in a row a server without a lease may miss before it is `expired`. @default 3 */
  readonly missedPolls: number;
}

/** The defaults: SIGKILL to `down` within the lease plus 0.5 s; no false `down` at 30 % loss. */
export const DEFAULT_PRESENCE_TIMING: PresenceTiming = {
  refreshAt: 0.75,
  retryInterval: 250,
  grace: 500,
  pollInterval: 5000,
  missedPolls: 3,
};

interface Tracked {
  /** Milliseconds; undefined: polled. */
  lease: number | undefined;
  /** When first heard (since it was last forgotten). */
  since: number;
  heardAt: number;
  /** When its refresh starts (leased) or when it was last polled for (polled). */
  refreshFrom: number;
  missed: number;
}

/** What is due now, and when to look again. */
export interface PresenceDue {
  /** Servers given up: past their lease and grace, or too many polls missed. */
  readonly expired: readonly string[];
  /** Send a refresh query now (some leased server is in its refresh window). */
  readonly refresh: boolean;
  /** Send a poll now (servers without a lease). */
  readonly poll: boolean;
  /** When something is next due, or undefined when nothing is tracked. */
  readonly next: number | undefined;
}

/**
 * The servers a watcher tracks, by key. `heard` on every believed answer or announcement;
 * `due` tells what to send and who expired; the caller sends and calls `sent`.
 */
export class PresenceTable {
  readonly #timing: PresenceTiming;
  readonly #random: () => number;
  readonly #servers = new Map<string, Tracked>();
  #lastRefresh = Number.NEGATIVE_INFINITY;
  #lastPoll: number | undefined;

  constructor(
    timing: PresenceTiming = DEFAULT_PRESENCE_TIMING,
    random: () => number = Math.random,
  ) {
    this.#timing = timing;
    this.#random = random;
  }

  get size(): number {
    return this.#servers.size;
  }

  has(key: string): boolean {
    return this.#servers.has(key);
  }

  /** A believed answer or announcement from `key`, declaring `lease` (undefined: polled). */
  heard(key: string, lease: number | undefined, now: number): void {
    const jitter = 1 + (this.#random() - 0.5) * 0.1;
    const refreshFrom =
      lease === undefined
        ? (this.#lastPoll ?? now)
        : now + lease * Math.min(this.#timing.refreshAt * jitter, 0.95);
    const since = this.#servers.get(key)?.since ?? now;
    this.#servers.set(key, { lease, since, heardAt: now, refreshFrom, missed: 0 });
  }

  /** Whether `key` is tracked without a lease: polled (an original server, `announce: false`). */
  isPolled(key: string): boolean {
    const server = this.#servers.get(key);
    return server !== undefined && server.lease === undefined;
  }

  /** When `key` was first and last heard, if it is tracked. */
  seen(key: string): { since: number; last: number } | undefined {
    const server = this.#servers.get(key);
    return server && { since: server.since, last: server.heardAt };
  }

  /** Stops tracking `key` (a goodbye, an interface lost, a failed check). */
  forget(key: string): void {
    this.#servers.delete(key);
  }

  /**
   * The leased servers with more than half their lease left at `now`: a refresh query lists
   * them, and they stay silent.
   */
  known(now: number): string[] {
    const keys: string[] = [];
    for (const [key, server] of this.#servers) {
      if (server.lease !== undefined && now - server.heardAt < server.lease / 2) keys.push(key);
    }
    return keys;
  }

  /** What is due at `now`. Expired servers are forgotten here. */
  due(now: number): PresenceDue {
    const { retryInterval, grace, pollInterval, missedPolls } = this.#timing;
    const expired: string[] = [];
    let refresh = false;
    let next = Number.POSITIVE_INFINITY;
    let polled = false;
    for (const [key, server] of this.#servers) {
      if (server.lease === undefined) {
        polled = true;
        if (server.missed >= missedPolls) {
          expired.push(key);
          this.#servers.delete(key);
        }
        continue;
      }
      const end = server.heardAt + server.lease + grace;
      if (now >= end) {
        expired.push(key);
        this.#servers.delete(key);
        continue;
      }
      next = Math.min(next, end);
      if (now >= server.refreshFrom) {
        if (now - this.#lastRefresh >= retryInterval) refresh = true;
        else next = Math.min(next, this.#lastRefresh + retryInterval);
      } else {
        next = Math.min(next, server.refreshFrom);
      }
    }
    let poll = false;
    if (polled) {
      const at = this.#lastPoll === undefined ? now : this.#lastPoll + pollInterval;
      if (now >= at) poll = true;
      else next = Math.min(next, at);
    }
    if (refresh || poll) next = now;
    return { expired, refresh, poll, next: Number.isFinite(next) ? next : undefined };
  }

  /** A refresh query went out at `now`. */
  refreshed(now: number): void {
    this.#lastRefresh = now;
  }

  /**
   * A poll went out at `now`: every polled server not heard since the previous poll missed it.
   */
  polled(now: number): void {
    const previous = this.#lastPoll;
    for (const server of this.#servers.values()) {
      if (server.lease !== undefined || previous === undefined) continue;
      server.missed = server.heardAt >= previous ? 0 : server.missed + 1;
    }
    this.#lastPoll = now;
  }
}
