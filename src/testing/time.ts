/**
 * Mocked time for tests on the simulated network with node:test's `mock.timers`. beckon measures
 * durations with `performance.now()` (leases, presence, schedules), which `mock.timers` does not
 * mock (its `apis` are the timers and `Date`): this enables the mocked `setTimeout`, `setInterval`
 * and `Date`, and makes `performance.now()` follow the mocked `Date.now()`.
 */
import type { MockTracker } from 'node:test';

/** Mocked time: see {@link mockTime}. */
export interface MockedTime {
  /**
   * Moves time on by `ms`, `stepMs` at a time, letting promises and `process.nextTick` callbacks
   * run between steps (beckon chains timers and promises), and resolves when done.
   */
  advance(ms: number, stepMs?: number): Promise<void>;
  /** Milliseconds of mocked time since {@link mockTime}. */
  elapsed(): number;
}

/** Lets queued promise callbacks, `nextTick` callbacks and zero-delay timers run. */
async function settle(tracker: MockTracker): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    tracker.timers.tick(0);
  }
}

/**
 * Enables `mock.timers` (`setTimeout`, `setInterval`, `Date`) on `tracker` (node:test's `mock`
 * or a test context's `t.mock`) and mocks `performance.now()` to follow it. Call it before
 * creating responders and clients; `mock.reset()` / `mock.restoreAll()` (or the end of the test,
 * for `t.mock`) undoes it. `setImmediate` stays real: {@link MockedTime.advance} uses it.
 *
 * Under Vitest there is no need for it: `vi.useFakeTimers()` fakes `performance.now()` by default
 * (a custom `toFake` list must keep `'performance'`), and `vi.advanceTimersByTimeAsync(ms)` moves
 * time on (docs/testing-your-app.md, "Vitest").
 *
 * @example
 * const time = mockTime(t.mock);
 * host.vanish();
 * await time.advance(20_000); // the watcher's lease runs out, without waiting 20 s
 */
export function mockTime(tracker: MockTracker, startMs = 1_700_000_000_000): MockedTime {
  tracker.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: startMs });
  tracker.method(performance, 'now', () => Date.now() - startMs + 1);
  return {
    async advance(ms: number, stepMs = 10): Promise<void> {
      await settle(tracker);
      for (let done = 0; done < ms; ) {
        const step = Math.min(stepMs, ms - done);
        tracker.timers.tick(step);
        done += step;
        await settle(tracker);
      }
    },
    elapsed: () => Date.now() - startMs,
  };
}
