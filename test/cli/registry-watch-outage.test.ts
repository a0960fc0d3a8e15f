/**
 * `beckon watch --registry` with no LAN path (`--no-broadcast`, no target) while etcd is down:
 * it waits for etcd, as documented ("a watcher retries until etcd answers"), instead of exiting.
 * The built CLI against a real etcd on loopback.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startBeckon } from '../helpers/cli.js';
import { startEtcd } from '../helpers/etcd.js';
import { recordWriter } from '../helpers/registry-records.js';

it('a registry-only watcher started while etcd is down waits for it, then reports what it holds', async (t) => {
  const etcd = await startEtcd(t);
  if (!etcd) return;
  await etcd.stop();
  const watcher = startBeckon(['watch', '--no-broadcast', '--registry', etcd.url, '--json']);
  t.after(() => watcher.kill('SIGKILL'));
  await watcher.waitFor(/unreachable/, 10_000, 'stderr');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal(watcher.done, false, 'the watcher exited while etcd was down');
  await etcd.restart();
  const records = recordWriter(t, etcd);
  await records.put({ instanceId: 'late-1', service: 'orders' });
  const [up] = await watcher.waitFor(/^\{"event":"up".*$/m, 15_000);
  assert.equal(JSON.parse(up).server.metadata.instanceId, 'late-1');
  watcher.kill('SIGINT');
  assert.equal((await watcher.exited).status, 130);
});
