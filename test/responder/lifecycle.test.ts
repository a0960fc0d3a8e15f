/** The start/stop bookkeeping both responders share: serial steps and reopening with backoff. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, Serial } from '../../src/responder/lifecycle.js';

/** Lets promise callbacks run between fake-timer ticks. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('Serial', () => {
  it('runs steps one at a time, in call order, past a failed one', async () => {
    const serial = new Serial();
    const log: string[] = [];
    const step = (name: string, fail = false) =>
      serial.run(async () => {
        log.push(`${name} start`);
        await settle();
        log.push(`${name} end`);
        if (fail) throw new Error(name);
      });
    const runs = [step('a'), step('b', true), step('c')];
    const results = await Promise.allSettled(runs);
    assert.deepEqual(log, ['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });
});

describe('Backoff', () => {
  it('doubles the delay from 100 ms while attempts fail, and starts over after a success', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const backoff = new Backoff();
    const attempts: number[] = [];
    let now = 0;
    let failures = 2;
    const failed: unknown[] = [];
    const succeeded: string[] = [];
    const retry = () =>
      backoff.retry(
        async () => {
          attempts.push(now);
          if (failures-- > 0) throw new Error('still down');
          return 'socket';
        },
        {
          current: () => true,
          succeeded: (value) => succeeded.push(value),
          discard: () => assert.fail('nothing to discard'),
          failed: (error) => failed.push(error),
        },
      );
    const tick = async (ms: number) => {
      now += ms;
      t.mock.timers.tick(ms);
      await settle();
    };
    retry();
    for (let i = 0; i < 8; i++) await tick(100);
    assert.deepEqual(attempts, [100, 300, 700]);
    assert.equal(failed.length, 2);
    assert.deepEqual(succeeded, ['socket']);
    retry(); // a later failure starts from the first delay again
    await tick(100);
    assert.deepEqual(attempts, [100, 300, 700, 900]);
  });

  it('discards a late success, stops once not current, and cancel drops the waiting retry', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const backoff = new Backoff();
    let current = true;
    let attempts = 0;
    const discarded: string[] = [];
    const handlers = {
      current: () => current,
      succeeded: () => assert.fail('not current any more'),
      discard: (value: string) => discarded.push(value),
      failed: () => {},
    };
    backoff.retry(async () => {
      attempts++;
      current = false; // stopped while the attempt ran
      return 'late socket';
    }, handlers);
    t.mock.timers.tick(100);
    await settle();
    assert.deepEqual(discarded, ['late socket']);

    current = true;
    backoff.retry(async () => {
      attempts++;
      return 'never';
    }, handlers);
    backoff.cancel();
    t.mock.timers.tick(10_000);
    await settle();
    assert.equal(attempts, 1);
  });
});
