import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RegistryState } from '../../src/registry/adapter.js';
import { connectEtcd, startEtcd } from '../helpers/etcd.js';
import { until } from '../helpers/wait.js';

describe('the etcd adapter, against a real etcd on loopback', () => {
  it('holds entries under a lease, watches them, and says goodbye before deleting', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const connection = await connectEtcd(t, etcd);
    const events: string[] = [];
    const watchStates: RegistryState[] = [];
    const watch = connection.watch('t/', {
      sync: (entries) => events.push(`sync ${entries.length}`),
      put: (entry) => events.push(`put ${entry.key} ${entry.value}`),
      delete: (key) => events.push(`delete ${key}`),
      state: (state) => watchStates.push(state),
    });
    await until(() => events.includes('sync 0'), 10_000, 'the first sync');
    const states: RegistryState[] = [];
    const holding = connection.hold([{ key: 't/a', value: 'A', goodbye: 'bye' }], {
      ttlSeconds: 5,
      state: (state) => states.push(state),
    });
    await until(() => holding.state === 'held', 10_000, 'held');
    assert.deepEqual(states, ['connected']);
    assert.deepEqual(await connection.list('t/'), [{ key: 't/a', value: 'A' }]);
    // Deleted by hand while held: written again at once.
    const { Etcd3 } = await import('etcd3');
    const admin = new Etcd3({ hosts: `http://127.0.0.1:${etcd.clientPort}` });
    t.after(() => admin.close());
    await admin.delete().key('t/a');
    await until(
      async () => (await connection.list('t/')).length === 1,
      3000,
      'the key written again',
    );
    assert.deepEqual(states, ['connected'], 'no state change for that');
    holding.update([{ key: 't/b', value: 'B' }]);
    await until(
      async () => (await connection.list('t/')).map((e) => e.key).join() === 't/b',
      5000,
      'update',
    );
    holding.update([{ key: 't/a', value: 'A2', goodbye: 'bye' }]);
    await until(
      async () => (await connection.list('t/')).map((e) => e.key).join() === 't/a',
      5000,
      'update back',
    );
    await holding.release();
    assert.equal(holding.state, 'released');
    // The update above deleted t/a once already: wait for the delete after the goodbye.
    await until(
      () => events.lastIndexOf('delete t/a') > events.indexOf('put t/a bye'),
      5000,
      'the delete',
    );
    const tail = events.slice(events.indexOf('put t/a bye'));
    assert.deepEqual(tail, ['put t/a bye', 'delete t/a']);
    assert.deepEqual(await connection.list('t/'), []);
    assert.deepEqual(watchStates, ['connected']);
    await watch.close();
  });

  it('rejects list() within its timeout when etcd is down, and recovers holdings and watches', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    await etcd.stop();
    const connection = await connectEtcd(t, etcd);
    const started = Date.now();
    await assert.rejects(connection.list('t/', { timeoutMs: 2000 }), { name: 'RegistryError' });
    assert.ok(Date.now() - started < 4000);
    const states: RegistryState[] = [];
    const holding = connection.hold([{ key: 't/x', value: 'X' }], {
      ttlSeconds: 3,
      state: (s) => states.push(s),
    });
    const watchStates: RegistryState[] = [];
    const seen: string[] = [];
    const watch = connection.watch('t/', {
      sync: (entries) => seen.push(`sync ${entries.map((e) => e.key).join()}`),
      put: (entry) => seen.push(`put ${entry.key}`),
      delete: (key) => seen.push(`delete ${key}`),
      state: (s) => watchStates.push(s),
    });
    await until(() => states.includes('lost') && watchStates.includes('lost'), 10_000, 'lost');
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(states, ['lost']); // once per outage
    await etcd.restart();
    await until(() => holding.state === 'held', 15_000, 'held after etcd started');
    assert.deepEqual(states, ['lost', 'restored']);
    await until(() => watchStates.includes('restored'), 15_000, 'watch restored');
    await until(() => seen.some((s) => s === 'sync t/x' || s === 'put t/x'), 5000, 'the key seen');
    // Restart with the data wiped: the lease is gone, the holding makes a new one.
    await etcd.restart({ wipe: true });
    await until(
      async () => (await connection.list('t/').catch(() => [])).length === 1,
      20_000,
      're-registered after a wipe',
    );
    await watch.close();
    await holding.release();
  });
});
