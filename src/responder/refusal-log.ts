/**
 * What the log says about refused requests, so that an operator sees a key mismatch, a client of
 * another service or a skewed clock without tracing every datagram:
 *
 * - a summary of the refusals, grouped by reason: the first one at once, then at most one line
 *   a minute ("12 requests refused in the last minute: signed with an unknown key");
 * - for a request with the right key but a time outside the replay window, a warning naming the
 *   sender and how far its clock is off, at most once a minute per sender.
 *
 * Garbage (`not-a-request`) is not summarised: anything may arrive on a UDP port; nor is a
 * watcher's query that lists every service as known (`known-answer`), which is no refusal.
 */
import { BeckonError } from '../errors.js';
import type { Logger } from '../logger.js';
import { describeStaleToken, NoticeLimiter } from '../security/clock-skew.js';
import type { ResponderSettings } from './options.js';
import type { Refusal } from './protocol.js';

/** At most one summary line per this long. */
export const SUMMARY_INTERVAL_MS = 60_000;
const MAX_SOURCES_NAMED = 3;

type Summarised = Exclude<Refusal, 'not-a-request' | 'known-answer'>;

/** What the responder gives the log: its settings, logger and warning channel. */
export interface RefusalLogContext {
  readonly settings: Pick<ResponderSettings, 'mode' | 'replayWindow' | 'replayProtection'>;
  readonly logger: Logger;
  /** Reports a warning (logged and emitted as a `warning` event). */
  readonly warn: (warning: BeckonError) => void;
}

/**
 * The refusal summaries and clock-skew warnings of one responder (see the module comment).
 * Intervals are timed with `performance.now()`, which never steps: a wall clock set back or
 * forward neither silences nor repeats them. Call {@link RefusalLog.close} when the responder
 * stops.
 */
export class RefusalLog {
  readonly #context: RefusalLogContext;
  readonly #skewNotices = new NoticeLimiter(SUMMARY_INTERVAL_MS);
  readonly #counts = new Map<Summarised, number>();
  readonly #sources = new Set<string>();
  #total = 0;
  #moreSources = false;
  // When the last summary was logged (performance.now()); undefined before the first.
  #lastSummary: number | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(context: RefusalLogContext) {
    this.#context = context;
  }

  /**
   * Counts a refusal of a request from `source`; for `stale`, `skewMs` is the request's time
   * minus this host's.
   */
  refused(refusal: Refusal, source: string, skewMs = 0): void {
    // A watcher that knows every server is answered with silence, as it asked.
    if (refusal === 'not-a-request' || refusal === 'known-answer') return;
    const now = performance.now();
    if (refusal === 'stale' && this.#skewNotices.allow(source, now)) {
      const { mode, replayWindow, replayProtection } = this.#context.settings;
      const message = describeStaleToken({
        kind: 'request',
        from: source,
        encrypted: mode === 'fernet',
        skewMs,
        windowMs: replayWindow,
        protectionOptional: mode === 'fernet' && replayProtection,
      });
      this.#context.warn(new BeckonError('BECKON_ERR_CLOCK_SKEW', message));
    }
    this.#counts.set(refusal, (this.#counts.get(refusal) ?? 0) + 1);
    this.#total++;
    if (this.#sources.size < MAX_SOURCES_NAMED) this.#sources.add(source);
    else if (!this.#sources.has(source)) this.#moreSources = true;
    const last = this.#lastSummary;
    if (last === undefined || now - last >= SUMMARY_INTERVAL_MS) {
      this.#summarise(now);
    } else if (this.#timer === undefined) {
      // Refusals that stop coming are still reported, once the minute is over.
      this.#timer = setTimeout(() => this.flush(), last + SUMMARY_INTERVAL_MS - now).unref();
    }
  }

  /** Logs what was counted since the last summary, if anything (the responder stops). */
  flush(): void {
    if (this.#total > 0) this.#summarise(performance.now());
  }

  /** Stops the timer after a last summary. */
  close(): void {
    this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #summarise(now: number): void {
    const first = this.#lastSummary === undefined;
    const period = first ? '' : ` ${describePeriod(now - (this.#lastSummary ?? now))}`;
    const groups = [...this.#counts].sort(([, a], [, b]) => b - a);
    const reasons =
      groups.length === 1 && groups[0]
        ? this.#reason(groups[0][0])
        : groups.map(([refusal, count]) => `${count} ${this.#reason(refusal)}`).join(', ');
    const from = [...this.#sources].join(', ') + (this.#moreSources ? ' and others' : '');
    const requests = this.#total === 1 ? '1 request' : `${this.#total} requests`;
    const later = first ? '; further refusals are summarised at most once a minute' : '';
    this.#context.logger.warn(`${requests} refused${period}: ${reasons} (from ${from})${later}`);
    this.#counts.clear();
    this.#sources.clear();
    this.#total = 0;
    this.#moreSources = false;
    this.#lastSummary = now;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #reason(refusal: Summarised): string {
    const { mode, replayWindow } = this.#context.settings;
    switch (refusal) {
      case 'encrypted':
        return 'encrypted (Fernet), but this responder runs without encryption';
      case 'unsigned':
        return mode === 'fernet'
          ? 'not encrypted (a client without encryption and this key)'
          : 'not signed (the original client, or beckon without --auth-key)';
      case 'unknown-key':
        return mode === 'fernet' ? 'encrypted with another key' : 'signed with an unknown key';
      case 'stale':
        return `timestamp more than ${replayWindow / 1000} s from this host's clock`;
      case 'other-message':
        return "encrypted with this key but holding another message (the client's --message differs)";
      case 'replay':
        return 'replayed (already answered)';
      case 'memory-full':
        return 'fresh, but the replay memory is full (more signed requests in one window than it holds)';
      case 'other-service':
        return 'for another service';
    }
  }
}

function describePeriod(ms: number): string {
  if (ms <= 90_000) return 'in the last minute';
  if (ms < 7_200_000) return `in the last ${Math.round(ms / 60_000)} minutes`;
  return `in the last ${Math.round(ms / 3_600_000)} hours`;
}
