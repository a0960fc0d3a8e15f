/**
 * Issue 18, registry scenario c: what registration costs on the wire (test/lab/registry.ts).
 * nftables counters in the etcd host count the TCP segments and bytes between etcd's client
 * port and the server (its registration: the lease's keepalives), and the client (an idle
 * `beckon watch --registry`), over 30 s of steady state; the figures are per minute.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { LabHost } from '../lab.js';
import {
  CLIENT_ADDRESS,
  ETCD_PORT,
  nextWatchLine,
  REGISTRY,
  SERVER_ADDRESS,
  serveRegistered,
  startRegistryLab,
} from '../registry.js';

const WINDOW_MS = 30_000;

const COUNTERS = `
table inet beckon_registry {
  counter from_server {}
  counter to_server {}
  counter from_client {}
  counter to_client {}
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr ${SERVER_ADDRESS} tcp dport ${ETCD_PORT} counter name from_server
    ip saddr ${CLIENT_ADDRESS} tcp dport ${ETCD_PORT} counter name from_client
  }
  chain output {
    type filter hook output priority 0; policy accept;
    ip daddr ${SERVER_ADDRESS} tcp sport ${ETCD_PORT} counter name to_server
    ip daddr ${CLIENT_ADDRESS} tcp sport ${ETCD_PORT} counter name to_client
  }
}`;

/** Packets and bytes of every named counter in `host`. */
function counters(host: LabHost): Record<string, { packets: number; bytes: number }> {
  const found: Record<string, { packets: number; bytes: number }> = {};
  const pattern = /counter (\w+) \{\s*packets (\d+) bytes (\d+)/g;
  for (const [, name, packets, bytes] of host.nftList().matchAll(pattern)) {
    found[name as string] = { packets: Number(packets), bytes: Number(bytes) };
  }
  return found;
}

it('issue 18 registry scenario c: registration traffic per server per minute, and an idle watcher', async (t) => {
  const setup = await startRegistryLab(t);
  if (!setup) return;
  const { lab, client, server } = setup;
  const etcdHost = lab.host('etcd');
  etcdHost.nft(COUNTERS);
  const watcher = client.beckon('watch', '--registry', REGISTRY, '--json');
  await serveRegistered(server, '--http-port', '8080');
  await nextWatchLine(watcher, 0, (line) => line.event === 'up', 10_000);
  await new Promise((resolve) => setTimeout(resolve, 2000)); // past the start's exchanges
  const before = counters(etcdHost);
  await new Promise((resolve) => setTimeout(resolve, WINDOW_MS));
  const after = counters(etcdHost);
  const perMinute = (name: string, field: 'packets' | 'bytes') =>
    Math.round((((after[name]?.[field] ?? 0) - (before[name]?.[field] ?? 0)) * 60_000) / WINDOW_MS);
  const report = (who: string, out: string, back: string) =>
    `${who}: ${perMinute(out, 'packets')} segments (${perMinute(out, 'bytes')} bytes) to etcd and ${perMinute(back, 'packets')} (${perMinute(back, 'bytes')} bytes) back per minute`;
  t.diagnostic(report('registered server, lease 15 s', 'from_server', 'to_server'));
  t.diagnostic(report('idle watcher', 'from_client', 'to_client'));
  // The lease's keepalive every 5 s: 12 a minute, each a request and an answer (with acks).
  const fromServer = perMinute('from_server', 'packets');
  assert.ok(fromServer >= 12 && fromServer <= 80, `${fromServer} segments a minute`);
  assert.ok(perMinute('from_server', 'bytes') < 10_000);
  // An idle watch sends next to nothing.
  assert.ok(
    perMinute('from_client', 'packets') <= 40,
    report('watcher', 'from_client', 'to_client'),
  );
  assert.deepEqual(
    watcher.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).event),
    ['up'],
  );
  watcher.kill('SIGINT');
});
