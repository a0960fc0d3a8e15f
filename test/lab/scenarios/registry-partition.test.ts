/**
 * Issue 18, registry scenario d: the path between a watcher and etcd goes silent (the router
 * drops it: no reset, no error), while etcd and the server carry on (test/lab/registry.ts).
 * The watcher notices (HTTP/2 pings every 10 s), warns once, reports the server known
 * only through the registry `down` (expired) one lease later, and sees it again once the path
 * is back; Ctrl+C during the partition exits within a few seconds.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { hasCommand } from '../lab.js';
import {
  CLIENT_ADDRESS,
  ETCD_ADDRESS,
  nextWatchLine,
  REGISTRY,
  serveRegistered,
  startRegistryLab,
} from '../registry.js';

const PARTITION = `
table inet beckon_partition {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip saddr ${CLIENT_ADDRESS} ip daddr ${ETCD_ADDRESS} drop
    ip saddr ${ETCD_ADDRESS} ip daddr ${CLIENT_ADDRESS} drop
  }
}`;

it('issue 18 registry scenario d: a silent partition between watcher and etcd is noticed, and healed', async (t) => {
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  const setup = await startRegistryLab(t);
  if (!setup) return;
  const { lab, client, server } = setup;
  const router = lab.host('router');
  const watcher = client.beckon('watch', '--registry', REGISTRY, '--json');
  await serveRegistered(server, '--http-port', '8080', '--lease', '3');
  const up = await nextWatchLine(watcher, 0, (line) => line.event === 'up', 10_000);

  const cut = performance.now();
  router.nft(PARTITION);
  const down = await nextWatchLine(watcher, up.seen, (line) => line.event === 'down', 60_000);
  const ms = down.at - cut;
  t.diagnostic(
    `partition to down: ${Math.round(ms)} ms (pings every 10 s, 5 s to answer; lease 3 s)`,
  );
  // Noticed within one ping period and its answer time (15 s), then one lease (3 s) and its
  // second of grace, with slack for a loaded machine.
  assert.ok(ms < 30_000, `down ${Math.round(ms)} ms after the partition`);
  assert.equal(down.line.reason, 'expired');
  assert.equal(watcher.stderr.match(/unreachable/g)?.length, 1, watcher.stderr);

  router.nft('delete table inet beckon_partition');
  const healed = performance.now();
  const again = await nextWatchLine(watcher, down.seen, (line) => line.event === 'up', 30_000);
  t.diagnostic(`partition healed to up again: ${Math.round(again.at - healed)} ms`);
  assert.equal(again.line.server.via, 'registry');

  router.nft(PARTITION);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const interrupted = performance.now();
  watcher.kill('SIGINT');
  const { status } = await watcher.exited;
  t.diagnostic(
    `SIGINT during a partition to exit: ${Math.round(performance.now() - interrupted)} ms`,
  );
  assert.equal(status, 130);
  // Bounded by the adapter's 0.5 s wait for a watch's cancel when closing over the dead path.
  assert.ok(performance.now() - interrupted < 2500);
});
