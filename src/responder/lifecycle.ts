/** Start/stop bookkeeping shared by both responders (main thread and worker thread). */

/** Runs async steps one after the other, in call order; a failed step does not block the next. */
export class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run(step: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(step);
    this.#tail = run.catch(() => {});
    return run;
  }
}

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 5000;

/** What {@link Backoff.retry} reports to, and asks, its caller. */
export interface RetryHandlers<T> {
  /** Whether the retry is still wanted (the responder was not stopped or restarted since). */
  current(): boolean;
  /** The attempt worked, and it is still wanted. */
  succeeded(value: T): void;
  /** The attempt worked, but too late: release what it opened. */
  discard(value: T): void;
  /** The attempt failed; another follows, after twice the delay. */
  failed(error: unknown): void;
}

/**
 * Reopens what failed (a socket, a thread): tries after a delay that doubles from 100 ms to
 * 5 s while attempts fail, for as long as `current()` holds; a success resets the delay.
 */
export class Backoff {
  #delay = FIRST_DELAY_MS;
  #timer: NodeJS.Timeout | undefined;

  retry<T>(attempt: () => Promise<T>, handlers: RetryHandlers<T>): void {
    this.#timer = setTimeout(() => {
      if (!handlers.current()) return;
      attempt().then(
        (value) => {
          if (!handlers.current()) {
            handlers.discard(value);
            return;
          }
          this.#delay = FIRST_DELAY_MS;
          handlers.succeeded(value);
        },
        (error: unknown) => {
          if (!handlers.current()) return;
          handlers.failed(error);
          this.#delay = Math.min(this.#delay * 2, MAX_DELAY_MS);
          this.retry(attempt, handlers);
        },
      );
    }, this.#delay);
  }

  /** Drops a retry that is waiting for its delay; the next one starts from the first delay. */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#delay = FIRST_DELAY_MS;
  }
}
