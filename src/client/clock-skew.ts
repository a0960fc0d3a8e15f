/**
 * A Fernet reply with the right key but a time outside the replay window: the server's clock is
 * off. Said in the log (at most once a minute per server, across runs) and in the trace (every
 * time), rather than dropped in silence.
 */
import type { Logger } from '../logger.js';
import { describeSkew, NoticeLimiter } from '../security/clock-skew.js';
import type { TraceFields } from './trace.js';

// Shared by every run of this process: an app that discovers every few seconds must not log
// the same server's skew each time.
const notices = new NoticeLimiter();

/** What is known about one stale reply. */
export interface StaleReply {
  readonly channel: string;
  readonly from: string;
  readonly fromPort: number;
  /** The reply's time minus this host's, in milliseconds. */
  readonly skewMs: number;
  readonly windowMs: number;
  /** This host's time, milliseconds since the epoch. */
  readonly now: number;
}

/** Traces `reply` and, unless this server's skew was logged in the last minute, logs it. */
export function reportStaleReply(
  reply: StaleReply,
  logger: Logger,
  trace: (fields: TraceFields) => void,
): void {
  const { channel, from, fromPort, skewMs, windowMs, now } = reply;
  trace({ type: 'clock-skew', channel, from, fromPort, skewMs, windowMs });
  if (!notices.allow(`${from}:${fromPort}`, now)) return;
  logger.warn(
    `Ignored an encrypted reply from ${from}:${fromPort}: the key is right, but the server's ` +
      `clock is ${describeSkew(skewMs)} this host's, beyond the ${windowMs / 1000} s replay ` +
      'window. Sync both clocks (NTP), widen replayWindow, or turn replay protection off ' +
      '(--no-replay-protection) to accept old and repeated replies as the original does. ' +
      '(A captured reply replayed later looks the same.)',
  );
}
