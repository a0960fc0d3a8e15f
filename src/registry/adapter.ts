/**
 * The registry adapter: what the responder and the client need from a key/value store with
 * leases and watches, and nothing engine-specific, so that another engine (Consul, DNS-SD over
 * unicast DNS) is one more module behind {@link openRegistry}. Failures are reported through
 * state callbacks (`lost`, `restored`), never thrown at the caller's event loop.
 */
import { RegistryError } from '../errors.js';
import type { RegistrySettings } from './config.js';

/** One key and its value, both text. */
export interface RegistryEntry {
  readonly key: string;
  readonly value: string;
}

/** An entry to hold under a lease, with the value written just before it is released. */
export interface HeldEntry extends RegistryEntry {
  /** Written (under the same lease) before a graceful release deletes the key; see record.ts. */
  readonly goodbye?: string;
}

/**
 * A connection's health, as a {@link RegistryWatch} or a {@link RegistryHolding} sees it:
 * `connected` the first time it works, `lost` when it stops working (once per outage, with
 * the error), `restored` when it works again. Warnings are for `lost`.
 */
export type RegistryState = 'connected' | 'lost' | 'restored';

/** Called on each {@link RegistryState} change. Never called twice in a row with `lost`. */
export type RegistryStateListener = (state: RegistryState, error?: RegistryError) => void;

/** What a watch reports. Callbacks must not throw (a throw is caught and dropped). */
export interface RegistryWatchHandlers {
  /**
   * Every entry under the prefix now: at start, and again after each outage (the store may
   * have been wiped or changed meanwhile). Anything not in it is gone.
   */
  sync(entries: readonly RegistryEntry[]): void;
  /** An entry was written (created or changed). */
  put(entry: RegistryEntry): void;
  /** A key was deleted (by its owner, or when its lease expired). */
  delete(key: string): void;
  /** Health changes; the first is `connected` (right before the first `sync`) or `lost`. */
  state: RegistryStateListener;
}

/** A running watch. */
export interface RegistryWatch {
  /** Stops it; no callback is called afterwards. */
  close(): Promise<void>;
}

/**
 * The state of a holding: `pending` (writing the first time), `held` (keys present, lease kept
 * alive), `lost` (the store is unreachable or the lease expired: retrying), `released`.
 */
export type HoldingState = 'pending' | 'held' | 'lost' | 'released';

/** Entries kept in the store under one lease while the holder runs. */
export interface RegistryHolding {
  readonly state: HoldingState;
  /**
   * Replaces the entries held: writes the new ones (and deletes keys no longer held) under
   * the same lease; while the store is unreachable, the new entries are written on return.
   */
  update(entries: readonly HeldEntry[]): void;
  /**
   * Writes each entry's `goodbye` (when it has one), then revokes the lease, which deletes the
   * keys; bounded in time (a few seconds), resolves even when the store is unreachable (the
   * keys then expire with the lease).
   */
  release(): Promise<void>;
}

/** Options of {@link RegistryConnection.hold}. */
export interface HoldOptions {
  /** The lease, in whole seconds (at least 2). */
  readonly ttlSeconds: number;
  /** Health changes; the first is `connected` (keys written) or `lost`. */
  readonly state: RegistryStateListener;
}

/** A connection to a registry. Open with {@link openRegistry}; close when done. */
export interface RegistryConnection {
  /** The engine's name (`etcd`). */
  readonly engine: string;
  /** The registry as it may be shown (no password). */
  readonly display: string;
  /**
   * Every entry whose key starts with `prefix`. Rejects with a {@link RegistryError} when the
   * store cannot be read within `timeoutMs` (default 5,000) or `signal` aborts.
   */
  list(
    prefix: string,
    options?: { readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<RegistryEntry[]>;
  /** Follows every key under `prefix`: a `sync`, then changes; resyncs after each outage. */
  watch(prefix: string, handlers: RegistryWatchHandlers): RegistryWatch;
  /** Writes `entries` under a lease of its own and keeps them there (see {@link RegistryHolding}). */
  hold(entries: readonly HeldEntry[], options: HoldOptions): RegistryHolding;
  /**
   * Closes watches (without callbacks), drops holdings (their keys expire with their leases:
   * release them first for a goodbye) and the connection. Never rejects.
   */
  close(): Promise<void>;
}

/**
 * Opens a connection to the registry of `settings`, loading its engine's client package only
 * now (`etcd3` for etcd, an optional peer dependency). Does not wait for the store to answer:
 * an unreachable one shows in `list()` rejecting and in `lost` states.
 *
 * @throws {RegistryError} when the client package is not installed (the message says
 *   `npm install etcd3`).
 */
export async function openRegistry(settings: RegistrySettings): Promise<RegistryConnection> {
  switch (settings.engine) {
    case 'etcd': {
      const { openEtcd } = await import('./etcd.js');
      return openEtcd(settings);
    }
    default:
      throw new RegistryError(`Unknown registry engine: ${String(settings.engine)}`);
  }
}

/**
 * What went wrong reaching a registry, for a message that names the registry already: the
 * error's cause when it has one (the engine's own error, without the address), without gRPC's
 * empty trailing `Resolution note:`. `'connection lost'` when there is no error.
 */
export function registryReason(error: unknown): string {
  if (error === undefined) return 'connection lost';
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const text = cause instanceof Error ? cause.message : String(cause);
  return text.replace(/\s*Resolution note:\s*$/, '').trim();
}
