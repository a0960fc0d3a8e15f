/**
 * A time window plus a memory of what was already accepted inside it: a message is fresh when
 * its timestamp is within `windowMs` of now (either side, for clock skew) and its id was not seen
 * before. An id only needs remembering while its timestamp is acceptable, so memory is bounded by
 * what can arrive in one window; past `maxEntries` new messages are refused (fail closed) rather
 * than old ids forgotten.
 */

/**
 * The default window, either side of the receiver's clock: the 5 minutes of skew Kerberos
 * tolerates. Hosts without time sync (offline labs) drift by minutes; a minute was too tight.
 */
export const DEFAULT_REPLAY_WINDOW_MS = 300_000;

/** Why a message was refused. */
export type ReplayVerdict = 'fresh' | 'stale' | 'replay' | 'full';

export class ReplayGuard {
  readonly #windowMs: number;
  readonly #maxEntries: number;
  // id -> time after which the id's timestamp is stale anyway. Insertion order is roughly
  // expiry order, so pruning walks from the front.
  readonly #seen = new Map<string, number>();

  constructor(windowMs: number, maxEntries = 65_536) {
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
  }

  /**
   * Accepts (and remembers) `id` when `timestampMs` is inside the window and `id` is new.
   *
   * @param now milliseconds since the epoch, the same clock as `timestampMs`
   */
  check(id: string, timestampMs: number, now = Date.now()): ReplayVerdict {
    if (!(Math.abs(now - timestampMs) <= this.#windowMs)) return 'stale';
    this.#prune(now);
    if (this.#seen.has(id)) return 'replay';
    if (this.#seen.size >= this.#maxEntries) {
      this.#prune(now, true);
      if (this.#seen.size >= this.#maxEntries) return 'full';
    }
    this.#seen.set(id, timestampMs + this.#windowMs);
    return 'fresh';
  }

  /** Ids remembered now (bounded by `maxEntries`). */
  get size(): number {
    return this.#seen.size;
  }

  /** Forgets expired ids: those at the front, or all of them when `everywhere`. */
  #prune(now: number, everywhere = false): void {
    for (const [id, expires] of this.#seen) {
      if (expires < now) this.#seen.delete(id);
      else if (!everywhere) break;
    }
  }
}
