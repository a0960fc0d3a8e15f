/**
 * Clock skew between two hosts, as seen in a token that had the right key but a time outside the
 * replay window: how to say it, and how often. Pure: the caller logs.
 */
import type { Logger } from '../logger.js';

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

/** A token with the right key whose time is outside the replay window. */
export interface StaleToken {
  /** A request refused by a responder, or a reply ignored by a client. */
  readonly kind: 'request' | 'reply';
  /** Who sent it: an address, or `address:port`. */
  readonly from: string;
  /** Fernet (encrypted) or signed (beckon's extended protocol with a shared key). */
  readonly encrypted: boolean;
  /** The token's time minus this host's, in milliseconds. */
  readonly skewMs: number;
  readonly windowMs: number;
  /** Whether turning replay protection off would accept it (Fernet mode only). */
  readonly protectionOptional: boolean;
}

/**
 * The warning about a {@link StaleToken}: who is off by how much, and what the user can do, named
 * both as the library option and as the CLI flag (the responder or client may be embedded in an
 * app, or be `beckon serve` / `beckon discover`).
 */
export function describeStaleToken(token: StaleToken): string {
  const { kind, from, encrypted, skewMs, windowMs, protectionOptional } = token;
  const what = `${encrypted ? 'an encrypted' : 'a signed'} ${kind}`;
  const whose = kind === 'request' ? 'its' : "the server's";
  const widen =
    'widen the window on both hosts (the replayWindow option, or --replay-window on the command line)';
  const fixes = protectionOptional
    ? `${widen}, or turn replay protection off (replayProtection: false, or --no-replay-protection) to accept old and repeated tokens as the original does`
    : `or ${widen}`;
  return (
    `${kind === 'request' ? 'Refused' : 'Ignored'} ${what} from ${from}: the key is right, but ` +
    `${whose} clock is ${describeSkew(skewMs)} this host's, beyond the ${windowMs / 1000} s ` +
    `replay window. Sync both clocks (NTP), ${fixes}. ` +
    `(A captured ${kind} replayed later looks the same.)`
  );
}

/**
 * Decides whether a notice about `key` (a peer) may be given now: at most once per key per
 * `intervalMs`, and for at most `maxKeys` keys per interval, so that replayed tokens sent from
 * many spoofed addresses cannot flood a log. Memory is bounded by `maxKeys`. Times come from the
 * caller and must be monotonic (`performance.now()`), not the wall clock: a clock stepped back
 * would otherwise silence the notices until it caught up.
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

  /** True (and remembered) when a notice about `key` may be given at `now` (monotonic ms). */
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

// One limiter per logger: an app that discovers every few seconds must not log the same
// server's skew each time, while another part of the app with its own logger still hears of it.
const limiters = new WeakMap<Logger, NoticeLimiter>();

/** The {@link NoticeLimiter} (one minute, per peer) of skew notices given to `logger`. */
export function skewNoticesFor(logger: Logger): NoticeLimiter {
  let limiter = limiters.get(logger);
  if (!limiter) {
    limiter = new NoticeLimiter();
    limiters.set(logger, limiter);
  }
  return limiter;
}
