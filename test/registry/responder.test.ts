/**
 * The responder side of the registry against a real etcd on loopback: registration, goodbye,
 * faults. Responders join no group and are found through 127.0.0.1 only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createResponder,
  discover,
  type Responder,
  type ResponderOptions,
} from '../../src/index.js';
import type { RegistryConnection } from '../../src/registry/adapter.js';
import { decodeRecord, recordKey } from '../../src/registry/record.js';
import { connectEtcd, startEtcd } from '../helpers/etcd.js';
import { recordingLogger } from '../helpers/logger.js';
import { until } from '../helpers/wait.js';

const KEY = 'registry-test-key-0123456789';

async function responder(t: import('node:test').TestContext, options: ResponderOptions) {
  const logger = recordingLogger();
  const r: Responder = createResponder({ port: 0, env: {}, joinGroups: false, logger, ...options });
  t.after(() => r.stop());
  const states: string[] = [];
  r.on('registry', ({ state }) => states.push(state));
  await r.start();
  return { responder: r, warnings: logger.warnings, states };
}

const value = async (connection: RegistryConnection, key: string) =>
  (await connection.list(key).catch(() => [])).find((entry) => entry.key === key)?.value;

describe('a responder with a registry', () => {
  it('registers its record under a lease, signed with its key, and deletes it on stop after a goodbye', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const etcdReader = await connectEtcd(t, etcd);
    const seen: string[] = [];
    const watch = etcdReader.watch('beckon/', {
      sync: () => {},
      put: (entry) => seen.push(`put ${JSON.parse(entry.value).gone === true ? 'gone' : 'record'}`),
      delete: () => seen.push('delete'),
      state: () => {},
    });
    t.after(() => watch.close());
    const started = performance.now();
    const { responder: r, states } = await responder(t, {
      registry: etcd.url,
      service: 'billing',
      instanceId: 'bill-1',
      httpPort: 8090,
      advertiseAddress: '192.0.2.10',
      metadata: { region: 'eu' },
      authKeys: [KEY],
    });
    const key = recordKey('beckon/', 'billing', 'bill-1');
    await until(async () => (await value(etcdReader, key)) !== undefined, 10_000, 'the record');
    const registeredMs = performance.now() - started;
    const stored = await value(etcdReader, key);
    assert.ok(stored);
    const decoded = decodeRecord(key, stored, { keys: [Buffer.from(KEY)] });
    assert.ok(decoded.ok && decoded.verified, JSON.stringify(decoded));
    assert.deepEqual(
      { ...decoded.record, sig: undefined },
      {
        v: 1,
        instanceId: 'bill-1',
        service: 'billing',
        scheme: 'http',
        port: 8090,
        addresses: ['192.0.2.10'],
        lease: 15_000,
        values: { region: 'eu' },
        sig: undefined,
      },
    );
    assert.deepEqual(states, ['connecting', 'registered']);
    // The key is held by an etcd lease of the responder's lease, 15 s.
    const { Etcd3 } = await import('etcd3');
    const client = new Etcd3({ hosts: `http://127.0.0.1:${etcd.clientPort}` });
    t.after(() => client.close());
    const [kv] = (await client.getAll().prefix(key).exec()).kvs;
    assert.ok(kv && kv.lease !== '0');
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: kv.lease });
    assert.equal(ttl.grantedTTL, '15');
    t.diagnostic(`start to record present: ${registeredMs.toFixed(0)} ms`);
    await r.stop();
    assert.equal(await value(etcdReader, key), undefined, 'deleted when stop() resolves');
    await until(() => seen.includes('delete'), 5000, 'the delete event');
    assert.deepEqual(seen.slice(-2), ['put gone', 'delete'], 'a goodbye, then the delete');
    assert.deepEqual(states.slice(-1), ['stopped']);
  });

  it('answers on the LAN while etcd is down at start (one warning), and registers once it runs', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    await etcd.stop();
    const { responder: r, warnings } = await responder(t, {
      registry: etcd.url,
      instanceId: 'down-at-start',
      httpPort: 8080,
      advertiseAddress: '192.0.2.11',
      lease: 4000,
    });
    await until(() => warnings.some((w) => w.includes('unreachable')), 10_000, 'the warning');
    // advertiseAddress is not this host's, so the client drops the answer: count the replies.
    let replies = 0;
    r.on('reply', () => replies++);
    await discover({
      env: {},
      broadcast: false,
      targets: ['127.0.0.1'],
      port: r.port ?? 0,
      timeout: 300,
    });
    assert.ok(replies >= 1, 'LAN answers are not affected');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    assert.equal(warnings.filter((w) => w.includes('unreachable')).length, 1, warnings.join('\n'));
    await etcd.restart();
    const back = performance.now();
    const etcdReader = await connectEtcd(t, etcd);
    const key = recordKey('beckon/', undefined, 'down-at-start');
    await until(async () => (await value(etcdReader, key)) !== undefined, 10_000, 'registered');
    t.diagnostic(`etcd up to registered: ${(performance.now() - back).toFixed(0)} ms`);
  });

  it('registers again by itself after etcd restarts, with its data kept and wiped', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const { warnings } = await responder(t, {
      registry: etcd.url,
      instanceId: 'survivor',
      advertiseAddress: '192.0.2.12',
      lease: 5000,
    });
    const etcdReader = await connectEtcd(t, etcd);
    const key = recordKey('beckon/', undefined, 'survivor');
    await until(async () => (await value(etcdReader, key)) !== undefined, 10_000, 'registered');
    for (const wipe of [false, true]) {
      await etcd.restart({ wipe });
      const back = performance.now();
      await until(
        async () => (await value(etcdReader, key)) !== undefined,
        10_000,
        `registered again (wipe: ${wipe})`,
      );
      // Still there a lease later: kept alive, not a stale key about to expire.
      await new Promise((resolve) => setTimeout(resolve, 6000));
      assert.ok(await value(etcdReader, key), `kept alive after the restart (wipe: ${wipe})`);
      t.diagnostic(
        `restart (wipe: ${wipe}) to registered: ${(performance.now() - back - 6000).toFixed(0)} ms or less`,
      );
    }
    assert.ok(warnings.length <= 2, warnings.join('\n'));
  });

  it('refuses a bad registry option, naming it', () => {
    assert.throws(() => createResponder({ env: {}, registry: 'redis://x' }), {
      name: 'InvalidOptionError',
      option: 'registry',
    });
    assert.throws(() => createResponder({ env: { DISCOVERY_REGISTRY: 'etcd://:1' } }), {
      name: 'InvalidOptionError',
      option: 'DISCOVERY_REGISTRY',
    });
    assert.throws(() => createResponder({ env: {}, registry: { url: 'etcd://h', lease: 100 } }), {
      name: 'InvalidOptionError',
      option: 'registry.lease',
    });
  });
});
