/**
 * Issue 18, registry scenario a: two LANs with no broadcast path between them, one etcd that both
 * reach (test/lab/registry.ts). A client on LAN A does not find a server on LAN B on the LAN,
 * finds it with `beckon discover --registry`, watches it come `up` with `beckon watch
 * --registry --json`, and sees it `down` (expired) within the default lease after a SIGKILL.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli } from '../beckon.js';
import {
  nextWatchLine,
  REGISTRY,
  SERVER_ADDRESS,
  serveRegistered,
  startRegistryLab,
} from '../registry.js';

it('issue 18 registry scenario a: found and watched across LANs through etcd; SIGKILL to down within the lease', async (t) => {
  // A second server on the client's own LAN, registered too: found both ways, listed once.
  const setup = await startRegistryLab(t, {
    near: {
      interfaces: { eth0: { segment: 'lana', address: '10.18.1.10/24' } },
      gateway: '10.18.1.1',
    },
  });
  if (!setup) return;
  const { lab, client, server } = setup;
  const watcher = client.beckon('watch', '--registry', REGISTRY, '--json');
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the watcher reads etcd
  const spawned = performance.now();
  const serving = await serveRegistered(server, '--http-port', '8080', '--service', 'web');
  const registered = performance.now();
  const up = await nextWatchLine(watcher, 0, (line) => line.event === 'up', 10_000);
  assert.equal(up.line.server.via, 'registry');
  assert.equal(up.line.server.url, `http://${SERVER_ADDRESS}:8080`);
  assert.equal(up.line.server.interface, 'eth0'); // the route to it
  assert.equal(up.line.server.metadata?.service, 'web');
  t.diagnostic(
    `watch up: ${Math.round(up.at - spawned)} ms after serve was spawned, ${Math.round(up.at - registered)} ms after it printed Registered`,
  );
  assert.ok(up.at - spawned < 5000);

  // No broadcast path: the LAN alone does not find it.
  const lanOnly = await discoverCli(client, '--timeout', '1');
  assert.equal(lanOnly.status, 1);
  assert.deepEqual(lanOnly.servers, []);

  // Through the registry, discover finds it; with -1 it stops at once.
  const asked = performance.now();
  const found = await discoverCli(client, '-1', '--registry', REGISTRY);
  const took = performance.now() - asked;
  assert.equal(found.status, 0, found.run.stderr);
  assert.equal(found.servers.length, 1);
  assert.equal(found.servers[0]?.via, 'registry');
  assert.equal(found.servers[0]?.url, `http://${SERVER_ADDRESS}:8080`);
  t.diagnostic(`discover -1 --registry: ${Math.round(took)} ms, the CLI's start included`);
  assert.ok(took < 2000 + 1000, `${Math.round(took)} ms`);
  // Without -1, it runs to the deadline; the server on the client's LAN, registered too, is
  // found both ways and listed once, via broadcast (its best path).
  await serveRegistered(lab.host('near'), '--http-port', '8081', '--service', 'web');
  const full = await discoverCli(client, '--timeout', '1', '--registry', REGISTRY);
  assert.deepEqual(
    full.servers.map((s) => `${s.url} ${s.via} ${s.addresses.map((a) => a.via).join('+')}`).sort(),
    [
      `http://10.18.1.10:8081 broadcast broadcast`,
      `http://${SERVER_ADDRESS}:8080 registry registry`,
    ],
  );

  // SIGKILL: no goodbye; the record expires with its lease (15 s by default).
  const killed = performance.now();
  serving.kill('SIGKILL');
  const down = await nextWatchLine(
    watcher,
    up.seen,
    (line) => line.event === 'down' && line.server.ip === SERVER_ADDRESS,
    20_000,
  );
  const ms = down.at - killed;
  t.diagnostic(`SIGKILL to down: ${Math.round(ms)} ms (lease 15 s)`);
  assert.equal(down.line.reason, 'expired');
  assert.ok(ms < 15_000 + 1500, `down ${Math.round(ms)} ms after SIGKILL`);
  // The watcher saw the near server once (LAN and registry are one server), and never down.
  const near = watcher.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line))
    .filter((line) => line.server.url === 'http://10.18.1.10:8081');
  assert.deepEqual(
    near.filter((line) => line.event !== 'update').map((line) => line.event),
    ['up'],
  );
  watcher.kill('SIGINT');
});
