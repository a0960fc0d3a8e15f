import { BoundedMap } from '../bounded-map.js';

/**
 * Per-source token buckets with bounded memory: at most `maxSources` buckets are kept; when
 * full, the least recently created one is dropped (a full bucket is what a new source gets
 * anyway, so forgetting one never lets a source exceed its rate by more than one burst).
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #buckets: BoundedMap<string, { tokens: number; at: number }>;

  /** `rate` replies per second per source, with a burst of `burst` (`max(rate, 1)`); 0 disables. */
  constructor(rate: number, maxSources = 4096, burst = Math.max(rate, 1)) {
    this.#rate = rate;
    this.#burst = burst;
    this.#buckets = new BoundedMap(maxSources);
  }

  /** Takes one token for `source`; false when the source is over its rate. */
  take(source: string, now = performance.now()): boolean {
    if (this.#rate === 0) return true;
    const bucket = this.#buckets.get(source);
    if (!bucket) {
      this.#buckets.set(source, { tokens: this.#burst - 1, at: now });
      return true;
    }
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Number of sources tracked (bounded by `maxSources`). */
  get size(): number {
    return this.#buckets.size;
  }
}
