/** First gap between sends; each later gap doubles, up to {@link MAX_GAP_MS}. */
export const FIRST_GAP_MS = 100;
/** Longest gap between two sends. */
export const MAX_GAP_MS = 500;

/**
 * When to send: the first request at 0 ms, then `retries` re-sends with backoff
 * (100, 200, 400, 500, 500... ms apart), keeping only those before the deadline.
 *
 * @example retrySchedule(4, 2000) // [0, 100, 300, 700, 1200]
 */
export function retrySchedule(retries: number, timeoutMs: number): number[] {
  const times = [0];
  let at = 0;
  let gap = FIRST_GAP_MS;
  for (let i = 0; i < retries; i++) {
    at += gap;
    if (at >= timeoutMs) break;
    times.push(at);
    gap = Math.min(gap * 2, MAX_GAP_MS);
  }
  return times;
}
