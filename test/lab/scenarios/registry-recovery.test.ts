/**
 * Issue 18, registry scenario b: etcd stops and comes back (test/lab/registry.ts). The watcher
 * on LAN A warns once, keeps the server on LAN B (known only through the registry) for one
 * lease, then reports it `down` (expired); when etcd is back, the server's registration
 * recovers by itself and the watcher sees it `up` again; the same after etcd comes back wiped.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli } from '../beckon.js';
import { nextWatchLine, REGISTRY, serveRegistered, startRegistryLab } from '../registry.js';

it('issue 18 registry scenario b: etcd stopped and restarted; registration and the watcher recover by themselves', async (t) => {
  const setup = await startRegistryLab(t);
  if (!setup) return;
  const { client, server, etcd } = setup;
  const watcher = client.beckon('watch', '--registry', REGISTRY, '--json');
  const serving = await serveRegistered(server, '--http-port', '8080', '--lease', '3');
  const up = await nextWatchLine(watcher, 0, (line) => line.event === 'up', 10_000);
  assert.equal(up.line.server.via, 'registry');

  // etcd stops: one warning; the server is kept for its lease (3 s) plus 1 s, then down.
  const stopped = performance.now();
  await etcd.stop();
  const down = await nextWatchLine(watcher, up.seen, (line) => line.event === 'down', 15_000);
  const ms = down.at - stopped;
  t.diagnostic(`etcd stopped to down: ${Math.round(ms)} ms (lease 3 s, kept one lease + 1 s)`);
  assert.equal(down.line.reason, 'expired');
  assert.ok(ms > 3000 && ms < 3000 + 1000 + 4000, `${Math.round(ms)} ms`);
  assert.equal(watcher.stderr.match(/unreachable/g)?.length, 1, watcher.stderr);
  assert.match(serving.stderr + serving.stdout, /unreachable|Registry/i);

  // etcd back with its data: the server's registration recovers, the watcher sees it again.
  await etcd.restart();
  const back = performance.now();
  const again = await nextWatchLine(watcher, down.seen, (line) => line.event === 'up', 15_000);
  t.diagnostic(`etcd ready to up again: ${Math.round(again.at - back)} ms`);
  assert.equal(again.line.server.via, 'registry');
  assert.match(watcher.stderr, /reachable again/);

  // etcd back wiped (its data lost): the server registers anew: discover finds it in etcd,
  // and the watcher's last word on it is up.
  await etcd.restart({ wipe: true });
  const wiped = performance.now();
  let found = false;
  while (!found && performance.now() - wiped < 10_000) {
    const run = await discoverCli(client, '-1', '--no-broadcast', '--registry', REGISTRY);
    found = run.servers.length === 1;
  }
  const registeredAfter = performance.now() - wiped;
  t.diagnostic(`etcd wiped and ready to the record found again: ${Math.round(registeredAfter)} ms`);
  assert.ok(found, 'not registered again within 10 s of a wiped etcd');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const lines = watcher.stdout.trim().split('\n');
  assert.equal(JSON.parse(lines[lines.length - 1] as string).event, 'up', watcher.stdout);
  watcher.kill('SIGINT');
});
