// The registry path's bookkeeping, fed by a scripted feed (no registry needed: no I/O here).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  type FeedEntry,
  type FeedEvents,
  MAX_REGISTRY_RECORDS,
  type RegistryHost,
  RegistryPath,
} from '../../src/client/registry-path.js';

/** A watching path over a feed whose events the test sends; records decode from their key. */
function scriptedPath(overrides: Partial<RegistryHost> = {}) {
  let events: FeedEvents | undefined;
  const filed: string[] = [];
  const logs: { level: string; text: string }[] = [];
  const host: RegistryHost = {
    watching: true,
    service: undefined,
    endpoint: 'etcd://test',
    family: 'any',
    timeout: 1000,
    open: async () => ({
      endpoint: 'etcd://test',
      list: async () => [],
      follow: (e) => {
        events = e;
      },
      close: async () => {},
    }),
    decode: (key) => ({
      record: {
        metadata: { instanceId: key, scheme: 'http', values: {} },
        addresses: ['192.0.2.1'],
        port: 80,
        lease: 30_000,
        goodbye: false,
      },
    }),
    file: (key) => filed.push(key),
    moved: () => {},
    lost: () => {},
    read: () => {},
    log: (level, text) => logs.push({ level, text }),
    trace: () => {},
    ...overrides,
  };
  const path = new RegistryPath(host);
  return {
    path,
    filed,
    logs,
    feed: () => {
      assert.ok(events, 'the path follows the feed');
      return events;
    },
  };
}

it('a registry flooded with records: the path holds a bounded number, with one warning', async () => {
  const { path, filed, logs, feed } = scriptedPath();
  await path.start();
  const entries: FeedEntry[] = Array.from({ length: MAX_REGISTRY_RECORDS + 50 }, (_, i) => ({
    key: `k${i}`,
    value: '{}',
  }));
  feed().sync(entries);
  for (let i = 0; i < 10; i++) feed().put({ key: `more${i}`, value: '{}' });
  assert.equal(filed.length, MAX_REGISTRY_RECORDS);
  assert.ok(path.holds('k0'));
  assert.ok(!path.holds(`k${MAX_REGISTRY_RECORDS}`));
  assert.equal(logs.filter((l) => l.level === 'warn').length, 1);
  // A record held already may still change, and a freed place takes a new one.
  feed().put({ key: 'k0', value: '{}' });
  assert.equal(filed.length, MAX_REGISTRY_RECORDS + 1);
  feed().delete('k1');
  feed().put({ key: 'later', value: '{}' });
  assert.ok(path.holds('later'));
  path.stop();
});

it('start() never rejects, even when the run it reports to throws', async () => {
  const { path, logs } = scriptedPath({
    watching: false,
    read: () => {
      throw new Error('the run broke');
    },
  });
  await path.start(); // asking once: read, then reported to the run, which throws
  assert.ok(
    logs.some((l) => l.level === 'warn' && l.text.includes('the run broke')),
    JSON.stringify(logs),
  );
});
