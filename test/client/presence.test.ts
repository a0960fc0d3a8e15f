import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_PRESENCE_TIMING, PresenceTable } from '../../src/client/presence.js';

const LEASE = 15_000;
const middle = () => 0.5; // no jitter: a refresh starts at exactly 75 % of the lease

describe('presence table', () => {
  it('refreshes at 75 % of the lease, retries every 250 ms, expires at lease + 0.5 s', () => {
    const table = new PresenceTable(DEFAULT_PRESENCE_TIMING, middle);
    table.heard('a', LEASE, 0);
    assert.deepEqual(table.due(0), { expired: [], refresh: false, poll: false, next: 11_250 });
    assert.equal(table.due(11_249).refresh, false);
    assert.equal(table.due(11_250).refresh, true);
    table.refreshed(11_250);
    const waiting = table.due(11_300);
    assert.equal(waiting.refresh, false);
    assert.equal(waiting.next, 11_500, 'the next retry');
    assert.equal(table.due(11_500).refresh, true);
    // Never heard again: given up at lease + grace, not before.
    assert.deepEqual(table.due(15_499).expired, []);
    assert.deepEqual(table.due(15_500).expired, ['a']);
    assert.equal(table.has('a'), false);
    assert.equal(table.due(15_600).next, undefined);
  });

  it('a server heard again starts a new lease; known lists those with more than half left', () => {
    const table = new PresenceTable(DEFAULT_PRESENCE_TIMING, middle);
    table.heard('a', LEASE, 0);
    table.heard('b', 4000, 0);
    assert.deepEqual(table.known(1000).sort(), ['a', 'b']);
    assert.deepEqual(table.known(2000), ['a'], 'b is at half its lease');
    assert.equal(table.due(3000).refresh, true, "b's refresh");
    table.refreshed(3000);
    table.heard('b', 4000, 3100);
    assert.deepEqual(table.due(3200), { expired: [], refresh: false, poll: false, next: 6100 });
    assert.deepEqual(table.known(7400), ['a']);
    assert.deepEqual(table.known(7600), [], 'a is at half its lease');
  });

  it('jitters the start of a refresh by ±5 % of 75 %, never past 95 %', () => {
    for (const random of [0, 0.999]) {
      const table = new PresenceTable(DEFAULT_PRESENCE_TIMING, () => random);
      table.heard('a', LEASE, 0);
      const next = table.due(0).next ?? 0;
      assert.ok(next >= 10_650 && next <= 11_850, String(next));
    }
  });

  it('polls servers without a lease and expires them after 3 missed polls', () => {
    const table = new PresenceTable(DEFAULT_PRESENCE_TIMING, middle);
    table.heard('plain', undefined, 0);
    assert.equal(table.due(0).poll, true, 'the first poll at once');
    table.polled(0);
    table.heard('plain', undefined, 10); // answers the first poll
    assert.deepEqual(table.due(100), { expired: [], refresh: false, poll: false, next: 5000 });
    for (const at of [5000, 10_000, 15_000]) {
      assert.equal(table.due(at).poll, true);
      assert.deepEqual(table.due(at).expired, []);
      table.polled(at);
    }
    // Polls at 5, 10 and 15 s: the one at 0 was answered; 5 and 10 missed, 15 not yet judged.
    assert.deepEqual(table.due(19_999).expired, []);
    table.polled(20_000);
    assert.deepEqual(table.due(20_000).expired, ['plain']);
  });

  it('a goodbye forgets at once', () => {
    const table = new PresenceTable();
    table.heard('a', LEASE, 0);
    table.forget('a');
    assert.equal(table.size, 0);
    assert.deepEqual(table.due(20_000).expired, []);
  });
});
