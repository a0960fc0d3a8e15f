/**
 * `watch()`: a long-lived view of the servers that are there (docs/presence.md). The same
 * {@link DiscoveryEngine} run as `discover()`, kept going: no deadline, and the table kept true
 * with announcements, goodbyes, refresh queries and polls.
 */
import { EventEmitter } from 'node:events';
import { checkInteger, checkInterfacePollInterval } from '../options.js';
import type { DiscoveryEngine } from './engine.js';
import type { DiscoverOptions } from './options.js';
import { DEFAULT_PRESENCE_TIMING, type PresenceTiming } from './presence.js';
import type { DownReason, Server, WatchEvent } from './server.js';

export type { DownReason, WatchEvent } from './server.js';

/** Options of {@link watch}: those of `discover()` (`timeout` and `retries` shape the first sweep), and: */
export interface WatchOptions extends DiscoverOptions {
  /**
   * Milliseconds between polls of servers without a lease (original servers, `announce: false`);
   * such a server is `down` after 3 missed polls. 1,000 to 3,600,000. @default 5000
   */
  pollInterval?: number;
  /** Milliseconds between reads of the interface list (new ones are asked at once); 0: never. @default 2000 */
  interfacePollInterval?: number;
}

/** A row of {@link Watcher.table}. */
export interface WatchedServer {
  readonly server: Server;
  /** When it was first heard (this time up). */
  readonly since: Date;
  /** When it was last heard: an answer, an announcement. */
  readonly lastSeen: Date;
}

/** Events of a {@link Watcher}. */
export interface WatcherEvents {
  up: [server: Server];
  update: [server: Server];
  down: [server: Server, reason: DownReason];
  /** The run failed (no socket could be opened, say); the watcher is closed. */
  error: [error: unknown];
}

/** Events an iteration may hold before the consumer takes them; beyond, the oldest go. */
const MAX_BUFFERED_EVENTS = 10_000;

/**
 * The servers that are there, kept up to date until {@link Watcher.close} (or the `signal`).
 * Listen with `on('up' | 'update' | 'down')`, or iterate: each iteration first yields an `up`
 * for every server already there, then every event as it happens.
 *
 * @example
 * await using watcher = watch({ service: 'orders' });
 * for await (const event of watcher) console.log(event.type, event.server.url);
 */
export class Watcher extends EventEmitter<WatcherEvents> implements AsyncIterable<WatchEvent> {
  readonly #engine: DiscoveryEngine;
  readonly #controller: AbortController;
  readonly #iterators = new Set<(event: WatchEvent | undefined) => void>();
  readonly #done: Promise<void>;
  #closed = false;

  /** @internal Made by {@link watch}. */
  constructor(engine: DiscoveryEngine, controller: AbortController) {
    super();
    this.#engine = engine;
    this.#controller = controller;
    this.#done = this.#run();
  }

  /** The servers there now, in the order first heard. */
  get servers(): Server[] {
    return this.#engine.servers();
  }

  /** The servers there now, with when each was first heard (`since`) and last heard. */
  get table(): WatchedServer[] {
    const offset = Date.now() - performance.now();
    return this.#engine.watched().map(({ server, since, lastSeen }) => ({
      server,
      since: new Date(offset + since),
      lastSeen: new Date(offset + lastSeen),
    }));
  }

  /** Whether it was closed (or its signal aborted, or it failed). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops watching: closes every socket at once, and ends every iteration. */
  async close(): Promise<void> {
    this.#controller.abort();
    await this.#done;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent, void> {
    const buffered: WatchEvent[] = this.servers.map((server) => ({ type: 'up', server }));
    let wake: (() => void) | undefined;
    let ended = this.#closed;
    const take = (event: WatchEvent | undefined) => {
      if (event === undefined) ended = true;
      else {
        if (buffered.length >= MAX_BUFFERED_EVENTS) buffered.shift();
        buffered.push(event);
      }
      wake?.();
    };
    this.#iterators.add(take);
    try {
      for (;;) {
        const next = buffered.shift();
        if (next) {
          yield next;
          continue;
        }
        if (ended) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      this.#iterators.delete(take);
    }
  }

  async #run(): Promise<void> {
    try {
      for await (const event of this.#engine.events()) {
        for (const take of this.#iterators) take(event);
        if (event.type === 'down') this.emit('down', event.server, event.reason);
        else this.emit(event.type, event.server);
      }
    } catch (error) {
      if (!this.#controller.signal.aborted && this.listenerCount('error') > 0) {
        this.emit('error', error);
      }
    } finally {
      this.#closed = true;
      for (const take of this.#iterators) take(undefined);
    }
  }
}

/** Checks the watch-only options and returns how the engine should watch. */
export function resolveWatch(options: WatchOptions, announcePort: number) {
  const timing: PresenceTiming = {
    ...DEFAULT_PRESENCE_TIMING,
    pollInterval: checkInteger(
      'pollInterval',
      options.pollInterval ?? DEFAULT_PRESENCE_TIMING.pollInterval,
      1000,
      3_600_000,
    ),
  };
  const interfacePollInterval = checkInterfacePollInterval(
    options.interfacePollInterval,
    'for never',
  );
  return { announcePort, timing, interfacePollInterval };
}
