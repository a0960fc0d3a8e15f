/**
 * Clock skew between two hosts, as seen in a token that had the right key but a time outside the
 * replay window: how to say it, and how often. Pure: the caller logs.
 */

/**
 * How far `skewMs` (the peer's time minus ours) puts the peer, e.g. `412 s ahead of` or
 * `7260 s (about 2 h) behind`.
 */
export function describeSkew(skewMs: number): string {
  const seconds = Math.round(Math.abs(skewMs) / 1000);
  const direction = skewMs > 0 ? 'ahead of' : 'behind';
  return `${seconds} s${roughly(seconds)} ${direction}`;
}

function roughly(seconds: number): string {
  if (seconds < 120) return '';
  if (seconds < 7200) return ` (about ${Math.round(seconds / 60)} min)`;
  if (seconds < 172_800) return ` (about ${Math.round(seconds / 3600)} h)`;
  return ` (about ${Math.round(seconds / 86_400)} days)`;
}

/**
 * Decides whether a notice about `key` (a peer) may be given now: at most once per key per
 * `intervalMs`, and for at most `maxKeys` keys per interval, so that replayed tokens sent from
 * many spoofed addresses cannot flood a log. Memory is bounded by `maxKeys`.
 */
export class NoticeLimiter {
  readonly #intervalMs: number;
  readonly #maxKeys: number;
  // key -> when its last notice was given, oldest first.
  readonly #given = new Map<string, number>();

  constructor(intervalMs = 60_000, maxKeys = 16) {
    this.#intervalMs = intervalMs;
    this.#maxKeys = maxKeys;
  }

  /** True (and remembered) when a notice about `key` may be given at `now` (milliseconds). */
  allow(key: string, now: number): boolean {
    for (const [old, at] of this.#given) {
      if (now - at < this.#intervalMs) break;
      this.#given.delete(old);
    }
    if (this.#given.has(key) || this.#given.size >= this.#maxKeys) return false;
    this.#given.set(key, now);
    return true;
  }
}
