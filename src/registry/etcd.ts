/**
 * The etcd engine of the registry adapter, over the `etcd3` package (an optional peer
 * dependency, imported here only, and this module only by {@link openRegistry}). Every call has
 * a deadline, retries are this module's own (bounded, unref'd timers), and every failure
 * becomes a state callback or a rejected promise the caller awaits: a down etcd never makes an
 * unhandled rejection or keeps the process from exiting once closed.
 */
import { connect } from 'node:net';
import type * as Etcd3Module from 'etcd3';
import { RegistryError } from '../errors.js';
import type {
  HeldEntry,
  HoldingState,
  HoldOptions,
  RegistryConnection,
  RegistryEntry,
  RegistryHolding,
  RegistryState,
  RegistryStateListener,
  RegistryWatch,
  RegistryWatchHandlers,
} from './adapter.js';
import type { RegistrySettings } from './config.js';

type Etcd3 = Etcd3Module.Etcd3;
type Lease = Etcd3Module.Lease;
type Watcher = Etcd3Module.Watcher;
type HostPolicy = ReturnType<
  NonNullable<NonNullable<Etcd3Module.IOptions['faultHandling']>['host']>
>;

/** Deadline of each unary call (get, put, grant, revoke). */
const CALL_TIMEOUT_MS = 3000;
/** How long `list()` waits by default. */
const LIST_TIMEOUT_MS = 5000;
/** How long a graceful release may take before the keys are left to expire. */
const RELEASE_TIMEOUT_MS = 3000;
/** Retry delays after a failure: from the first to the last, then the last again. */
const RETRY_MS = [250, 500, 1000, 2000] as const;
/** How long a TCP probe of the members may take. */
const PROBE_TIMEOUT_MS = 2000;
/**
 * HTTP/2 pings, so that a connection that silently died (a host gone, a firewall dropping) is
 * noticed by an idle watch: every 10 s, 5 s to answer, so a watcher learns of a silent partition
 * within about 15 s (docs/registry.md). etcd refuses pings more often than every 5 s
 * (`--grpc-keepalive-min-time`).
 */
const GRPC_KEEPALIVE = {
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
} as const;
/** How long closing waits for etcd to confirm a watch's cancel before it cuts the stream. */
const CLOSE_CANCEL_MS = 500;

/** The `etcd3` module, or a {@link RegistryError} saying how to install it. */
async function loadEtcd3(): Promise<typeof Etcd3Module> {
  try {
    return await import('etcd3');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new RegistryError(
        'The registry needs the etcd client package: run `npm install etcd3` (an optional peer dependency of beckon)',
        error,
      );
    }
    throw new RegistryError(`Loading the etcd client (etcd3) failed: ${String(error)}`, error);
  }
}

/** Opens a connection (see {@link RegistryConnection}); nothing is sent until it is used. */
export async function openEtcd(settings: RegistrySettings): Promise<RegistryConnection> {
  const { Etcd3 } = await loadEtcd3();
  const protocol = settings.secure ? 'https' : 'http';
  const deadline = (context: { isStream: boolean }) =>
    context.isStream ? {} : { deadline: Date.now() + CALL_TIMEOUT_MS };
  const options: Etcd3Module.IOptions = {
    hosts: settings.endpoints.map((endpoint) => `${protocol}://${endpoint}`),
    dialTimeout: CALL_TIMEOUT_MS,
    grpcOptions: GRPC_KEEPALIVE,
    defaultCallOptions: deadline,
    faultHandling: {
      // No circuit breaker: it would refuse calls for 5 s after etcd is back. This module
      // retries on its own, at a bounded pace.
      host: () => passThrough as unknown as HostPolicy,
    },
  };
  if (settings.username !== undefined) {
    options.auth = {
      username: settings.username,
      password: settings.password ?? '',
      callOptions: deadline,
    };
  }
  if (settings.tls) {
    options.credentials = {
      rootCertificate: settings.tls.ca as Buffer,
      ...(settings.tls.key ? { privateKey: settings.tls.key } : {}),
      ...(settings.tls.cert ? { certChain: settings.tls.cert } : {}),
    };
  }
  let client: Etcd3;
  try {
    client = new Etcd3(options);
  } catch (error) {
    throw new RegistryError(`Cannot create the etcd client: ${String(error)}`, error);
  }
  return new EtcdConnection(client, settings.display, () => probe(settings.endpoints));
}

/**
 * Whether a member accepts a TCP connection within {@link PROBE_TIMEOUT_MS}. Every call that
 * may make the gRPC client connect is preceded by one: gRPC's own connect attempt to a host
 * that drops packets has no timeout and holds the process open until the kernel gives up
 * (about two minutes), while this probe is unref'd and destroyed at its deadline.
 */
function probe(endpoints: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    let pending = endpoints.length;
    const sockets = endpoints.map((endpoint) => {
      const match = /^\[?(.*?)\]?:(\d+)$/.exec(endpoint);
      const socket = connect({ host: match?.[1] ?? endpoint, port: Number(match?.[2] ?? 2379) });
      socket.unref();
      socket.once('connect', () => finish(true));
      socket.once('error', () => {
        if (--pending === 0) finish(false);
      });
      return socket;
    });
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS).unref();
    function finish(ok: boolean) {
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      resolve(ok);
    }
  });
}

/** A fault-handling policy that only runs the call (etcd3 calls `execute` alone). */
const passThrough = {
  execute: <T>(fn: (context: { signal: AbortSignal }) => T | Promise<T>) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
};

class EtcdConnection implements RegistryConnection {
  readonly engine = 'etcd';
  readonly display: string;
  readonly #client: Etcd3;
  readonly #probe: () => Promise<boolean>;
  readonly #watches = new Set<EtcdWatch>();
  readonly #holdings = new Set<EtcdHolding>();
  #closed = false;

  constructor(client: Etcd3, display: string, probe: () => Promise<boolean>) {
    this.#client = client;
    this.display = display;
    this.#probe = probe;
  }

  async list(
    prefix: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<RegistryEntry[]> {
    const { entries } = await this.#range(
      prefix,
      options.timeoutMs ?? LIST_TIMEOUT_MS,
      options.signal,
    );
    return entries;
  }

  /** Every entry under `prefix` and the store's revision, within `timeoutMs`. */
  #range(
    prefix: string,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<{ entries: RegistryEntry[]; revision: string }> {
    if (this.#closed) return Promise.reject(new RegistryError('The registry connection is closed'));
    const call = this.#reachable().then(() =>
      this.#client
        .getAll()
        .prefix(prefix)
        .exec()
        .then((response) => ({
          revision: response.header.revision,
          entries: response.kvs.map((kv) => ({
            key: kv.key.toString(),
            value: kv.value.toString(),
          })),
        })),
    );
    return bounded(call, timeoutMs, signal, `reading ${this.display}`);
  }

  /** Resolves when a member accepts connections; rejects with a {@link RegistryError} if none does. */
  async #reachable(): Promise<void> {
    if (!(await this.#probe())) {
      throw new RegistryError(`no member accepts connections (tried for ${PROBE_TIMEOUT_MS} ms)`);
    }
  }

  watch(prefix: string, handlers: RegistryWatchHandlers): RegistryWatch {
    const watch = new EtcdWatch(this.#client, prefix, handlers, {
      range: (timeoutMs) => this.#range(prefix, timeoutMs),
      display: this.display,
      done: () => this.#watches.delete(watch),
    });
    this.#watches.add(watch);
    if (this.#closed) void watch.close();
    else watch.start();
    return watch;
  }

  hold(entries: readonly HeldEntry[], options: HoldOptions): RegistryHolding {
    const holding = new EtcdHolding(
      this.#client,
      entries,
      options,
      { display: this.display, reachable: () => this.#reachable() },
      () => this.#holdings.delete(holding),
    );
    this.#holdings.add(holding);
    if (this.#closed) holding.drop();
    else holding.start();
    return holding;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#watches].map((watch) => watch.close()));
    for (const holding of this.#holdings) holding.drop();
    // A watch stream whose cancel went unanswered (a dead connection) would keep the process
    // open until gRPC notices: cancel the call itself (etcd3 keeps it private).
    const manager = (this.#client as unknown as { watchManager?: { stream?: { cancel?(): void } } })
      .watchManager;
    try {
      manager?.stream?.cancel?.();
    } catch {
      // already gone
    }
    try {
      this.#client.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Entries under one lease. Named states: `pending` → `held` → (`lost` → `held`)* → `released`.
 * A failed probe, grant or write, a failed keepalive stream, or a lease etcd says is gone: the
 * lease is given up (not revoked) and, after a short delay and a successful probe, the entries
 * are written under a new one (a lease etcd kept expires later with no keys left on it).
 */
class EtcdHolding implements RegistryHolding {
  #state: HoldingState = 'pending';
  readonly #client: Etcd3;
  #entries: readonly HeldEntry[];
  readonly #ttl: number;
  readonly #listener: RegistryStateListener;
  readonly #display: string;
  readonly #reachable: () => Promise<void>;
  readonly #done: () => void;
  #lease: Lease | undefined;
  // Keys written under the current lease, so that an update deletes the ones dropped.
  #written = new Set<string>();
  #retry: NodeJS.Timeout | undefined;
  #keepalive: NodeJS.Timeout | undefined;
  // Watches the held keys while held (#guardKeys).
  #guard: Watcher | undefined;
  #failures = 0;
  #reported: RegistryState | undefined;
  // Serializes writes.
  #writing: Promise<void> = Promise.resolve();

  constructor(
    client: Etcd3,
    entries: readonly HeldEntry[],
    options: HoldOptions,
    context: { display: string; reachable: () => Promise<void> },
    done: () => void,
  ) {
    this.#client = client;
    this.#entries = [...entries];
    this.#ttl = Math.max(2, Math.ceil(options.ttlSeconds));
    this.#listener = options.state;
    this.#display = context.display;
    this.#reachable = context.reachable;
    this.#done = done;
  }

  get state(): HoldingState {
    return this.#state;
  }

  start(): void {
    this.#attempt();
  }

  update(entries: readonly HeldEntry[]): void {
    if (this.#state === 'released') return;
    this.#entries = [...entries];
    const lease = this.#lease;
    // Not held: the next lease writes the new entries.
    if (this.#state !== 'held' || !lease) return;
    this.#queueWrite(lease);
  }

  async release(): Promise<void> {
    if (this.#state === 'released') return;
    const held = this.#state === 'held';
    const lease = this.#lease;
    this.#stop();
    if (!lease) return;
    const goodbye = async () => {
      await this.#writing.catch(() => undefined);
      await this.#reachable(); // else the keys expire with the lease
      if (held) {
        await Promise.all(
          this.#entries
            .filter((entry) => entry.goodbye !== undefined)
            .map((entry) =>
              lease
                .put(entry.key)
                .value(entry.goodbye as string)
                .exec(),
            ),
        );
      }
      await lease.revoke();
    };
    try {
      await bounded(
        goodbye(),
        RELEASE_TIMEOUT_MS,
        undefined,
        `releasing the registration at ${this.#display}`,
      );
    } catch {
      // Unreachable: the keys expire with the lease.
    } finally {
      lease.release();
    }
  }

  /** Stops without a goodbye: the keys expire with the lease (the connection is closing). */
  drop(): void {
    const lease = this.#lease;
    this.#stop();
    lease?.release();
  }

  #stop(): void {
    this.#state = 'released';
    this.#lease = undefined;
    this.#quiet();
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#done();
  }

  /** Grants a new lease and writes every entry under it, once a member accepts connections. */
  #attempt(): void {
    this.#retry = undefined;
    if (this.#state === 'released') return;
    // A throw in #grant too becomes a failure and a retry, never an unhandled rejection.
    this.#reachable()
      .then(() => this.#grant())
      .catch((error: unknown) => this.#fail(this.#lease, error));
  }

  #grant(): void {
    if (this.#state === 'released' || this.#lease !== undefined) return;
    let lease: Lease;
    try {
      // The keepalives are this holding's own (#keepAlive): etcd3's run on one stream without
      // a deadline, which a dead connection leaves open (and the process with it), and retry
      // every 100 ms, reconnecting without a timeout.
      lease = this.#client.lease(this.#ttl, { autoKeepAlive: false });
    } catch (error) {
      this.#fail(undefined, error);
      return;
    }
    this.#lease = lease;
    this.#written = new Set();
    lease.on('lost', (error) => this.#fail(lease, error));
    lease
      .grant()
      .then(() => this.#write(lease))
      .then(
        () => {
          if (this.#lease !== lease || this.#state === 'released') return;
          this.#state = 'held';
          this.#failures = 0;
          this.#report(this.#reported === undefined ? 'connected' : 'restored');
          this.#keepAlive(lease);
        },
        (error: unknown) => this.#fail(lease, error),
      );
  }

  /**
   * One keepalive every third of the TTL, as etcd3 does, each a short stream with a deadline.
   * A failure gives the lease up (#fail): the entries are written under a new one once a
   * member answers its probe (the old lease, if etcd kept it, expires with no keys left).
   */
  #keepAlive(lease: Lease): void {
    const every = (this.#ttl * 1000) / 3;
    const timeout = Math.min(CALL_TIMEOUT_MS, every);
    clearInterval(this.#keepalive);
    this.#keepalive = setInterval(() => {
      if (this.#lease !== lease) return;
      lease
        .keepaliveOnce({ deadline: Date.now() + timeout })
        .catch((error: unknown) => this.#fail(lease, error));
    }, every).unref();
  }

  #queueWrite(lease: Lease): void {
    this.#writing = this.#writing
      .then(() => this.#write(lease))
      .catch((error: unknown) => this.#fail(lease, error));
  }

  /** Writes the entries under `lease` and deletes keys held before and not any more. */
  async #write(lease: Lease): Promise<void> {
    if (this.#lease !== lease) return;
    const entries = this.#entries;
    const keys = new Set(entries.map((entry) => entry.key));
    await Promise.all(entries.map((entry) => lease.put(entry.key).value(entry.value).exec()));
    const dropped = [...this.#written].filter((key) => !keys.has(key));
    await Promise.all(dropped.map((key) => this.#client.delete().key(key).exec()));
    if (this.#lease !== lease) return;
    this.#written = keys;
    this.#guardKeys(lease, [...keys]);
  }

  /**
   * Watches `keys` from now on: one deleted while this holding holds it (by hand, or by
   * another process that wrote the same key and then stopped) is written again. Only deletes:
   * two holders of one key rewriting each other's puts would never stop. A watch that fails is
   * dropped; the next write (a new lease, new entries) makes a new one.
   */
  #guardKeys(lease: Lease, keys: string[]): void {
    this.#unguard();
    const [first] = keys;
    if (first === undefined) return;
    const guard = (
      keys.length === 1
        ? this.#client.watch().key(first)
        : this.#client.watch().prefix(commonPrefix(keys))
    ).watcher();
    this.#guard = guard;
    guard.on('delete', (kv) => {
      const key = kv.key.toString();
      if (this.#guard !== guard || this.#lease !== lease || this.#state !== 'held') return;
      if (!this.#entries.some((entry) => entry.key === key)) return;
      this.#queueWrite(lease);
    });
    const drop = () => {
      if (this.#guard === guard) this.#unguard();
    };
    guard.on('disconnected', drop);
    guard.on('error', drop);
  }

  #unguard(): void {
    const guard = this.#guard;
    this.#guard = undefined;
    guard?.cancel().catch(() => undefined);
  }

  /** `lease` failed (or could not be made): report, drop it, try a new one soon. */
  #fail(lease: Lease | undefined, error: unknown): void {
    if (this.#state === 'released' || this.#lease !== lease || this.#retry !== undefined) return;
    this.#lease = undefined;
    this.#quiet();
    lease?.release();
    this.#state = 'lost';
    this.#report('lost', error);
    this.#retry = setTimeout(() => this.#attempt(), retryDelay(this.#failures++)).unref();
  }

  /** Stops watching the held keys and sending keepalives. */
  #quiet(): void {
    this.#unguard();
    clearInterval(this.#keepalive);
    this.#keepalive = undefined;
  }

  #report(state: RegistryState, error?: unknown): void {
    if (state === 'lost' && this.#reported === 'lost') return;
    if (state !== 'lost' && this.#reported !== 'lost' && this.#reported !== undefined) return;
    this.#reported = state;
    safely(() =>
      this.#listener(
        state,
        error === undefined ? undefined : toRegistryError(error, this.#display),
      ),
    );
  }
}

/**
 * A watch of one prefix: read everything (and the revision), report it as a `sync`, then watch
 * from the next revision; on any stream failure, drop the watcher and start over after a short
 * delay (etcd may have been wiped: its revisions start again, so the old watch cannot resume).
 */
class EtcdWatch implements RegistryWatch {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #handlers: RegistryWatchHandlers;
  readonly #context: EtcdWatchContext;
  #watcher: Watcher | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #reported: RegistryState | undefined;
  #generation = 0;

  constructor(
    client: Etcd3,
    prefix: string,
    handlers: RegistryWatchHandlers,
    context: EtcdWatchContext,
  ) {
    this.#client = client;
    this.#prefix = prefix;
    this.#handlers = handlers;
    this.#context = context;
  }

  start(): void {
    const generation = ++this.#generation;
    this.#retry = undefined;
    this.#context
      .range(LIST_TIMEOUT_MS)
      .then(({ entries, revision }) => {
        if (this.#closed || generation !== this.#generation) return;
        this.#failures = 0;
        this.#report(this.#reported === undefined ? 'connected' : 'restored');
        safely(() => this.#handlers.sync(entries));
        if (this.#closed || generation !== this.#generation) return;
        const watcher = this.#client
          .watch()
          .prefix(this.#prefix)
          .startRevision(String(BigInt(revision) + 1n))
          .watcher();
        this.#watcher = watcher;
        const current = () => !this.#closed && this.#watcher === watcher;
        watcher.on('put', (kv) => {
          if (current())
            safely(() =>
              this.#handlers.put({ key: kv.key.toString(), value: kv.value.toString() }),
            );
        });
        watcher.on('delete', (kv) => {
          if (current()) safely(() => this.#handlers.delete(kv.key.toString()));
        });
        const fail = (error: unknown) => {
          if (current()) this.#fail(generation, error);
        };
        watcher.on('disconnected', fail);
        watcher.on('error', fail);
      })
      // A failed read, or a throw while starting the watcher: a retry, never an unhandled rejection.
      .catch((error: unknown) => {
        if (!this.#closed && generation === this.#generation) this.#fail(generation, error);
      });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#context.done();
    await this.#dropWatcher(CLOSE_CANCEL_MS);
  }

  #fail(generation: number, error: unknown): void {
    if (generation !== this.#generation) return;
    this.#generation++;
    void this.#dropWatcher();
    this.#report('lost', error);
    this.#retry = setTimeout(() => this.start(), retryDelay(this.#failures++)).unref();
  }

  async #dropWatcher(timeoutMs = CALL_TIMEOUT_MS): Promise<void> {
    const watcher = this.#watcher;
    this.#watcher = undefined;
    if (!watcher) return;
    try {
      await bounded(watcher.cancel(), timeoutMs, undefined, 'cancelling a watch');
    } catch {
      // the stream is gone already
    }
  }

  #report(state: RegistryState, error?: unknown): void {
    if (state === 'lost' && this.#reported === 'lost') return;
    this.#reported = state;
    safely(() =>
      this.#handlers.state(
        state,
        error === undefined ? undefined : toRegistryError(error, this.#context.display),
      ),
    );
  }
}

/** How long to wait before retrying after `failures` failures in a row ({@link RETRY_MS}). */
function retryDelay(failures: number): number {
  return RETRY_MS[Math.min(failures, RETRY_MS.length - 1)] ?? 2000;
}

/** The longest prefix `keys` share. */
function commonPrefix(keys: readonly string[]): string {
  let prefix = keys[0] ?? '';
  for (const key of keys) while (!key.startsWith(prefix)) prefix = prefix.slice(0, -1);
  return prefix;
}

/** What a watch needs from its connection. */
interface EtcdWatchContext {
  range(timeoutMs: number): Promise<{ entries: RegistryEntry[]; revision: string }>;
  display: string;
  done(): void;
}

/** `promise`, or a {@link RegistryError} after `timeoutMs` or when `signal` aborts. */
function bounded<T>(
  promise: Promise<T>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  what: string,
): Promise<T> {
  promise.catch(() => undefined); // a late rejection is not unhandled
  return new Promise<T>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      reject(new RegistryError(`Timed out after ${timeoutMs} ms ${what}`));
    }, timeoutMs).unref();
    signal?.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        reject(toRegistryError(error, what));
      },
    );
  });
}

/** `error` as a {@link RegistryError} whose message says where. */
function toRegistryError(error: unknown, where: string): RegistryError {
  if (error instanceof RegistryError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RegistryError(`${where}: ${message}`, error);
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // a listener's bug must not break the registry's state machine
  }
}
