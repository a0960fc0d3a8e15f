/**
 * Presence across a LAN, steady-state traffic at the switch (docs/presence.md, issue 17; split from presence.test.ts so
 * that each file stays well inside the per-file test timeout), real processes in network namespaces:
 * `beckon watch --json` (and the library's watch() through test/lab/drivers/watch.ts) on one host,
 * `beckon serve` on others. Bounds are the where a loaded 2-core machine holds them; the
 * raw figures are printed as diagnostics (bench/presence.ts measures more runs).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { hasCommand, startLab } from '../lab.js';
import { countLanUdp, presenceLan as lan, startServer, upOf, watchCli } from '../presence.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

it('presence 3: steady state, 1 watcher and 10 servers: at most 1 packet per server per half-lease', async (t) => {
  // 10 servers: a refresh round is 3 queries (IPv4 broadcast and group, IPv6 group) and one
  // announcement per server, every ~72% of a lease (the earliest jittered refresh point), so
  // the bound holds from about 8 servers on (bench/presence.ts measures 20).
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  const servers = 10;
  const lab = await startLab(t, lan(3, servers));
  if (!lab) return;
  const count = countLanUdp(lab);
  const host = lab.host('watcher');
  const cli = watchCli(host);
  await sleep(500);
  const leaseSeconds = 4;
  const started = Array.from({ length: servers }, (_, i) =>
    startServer(lab.host(`s${i + 1}`), 8001 + i, '--lease', `${leaseSeconds}s`),
  );
  for (const [i, server] of started.entries()) {
    await server.listening;
    await cli.next(upOf(8001 + i), 10_000);
  }
  await sleep(leaseSeconds * 2000); // past the start announcements and the first refreshes
  count.reset();
  const from = Date.now();
  // 36 s: a cycle is at least 71.25% of the lease (2.85 s), so the window holds at most 13
  // refresh rounds of 13 packets, plus at most 2 of the watcher's 30 s sweeps (3 queries each):
  // 175 packets, 0.97 per server per half-lease at worst without a fault.
  await sleep(leaseSeconds * 9000);
  const counts = count.read();
  const elapsed = Date.now() - from;
  const perServer = counts.udp / servers / (elapsed / (leaseSeconds * 500));
  t.diagnostic(
    `${counts.udp} UDP packets in ${elapsed} ms: ${perServer.toFixed(2)} per server per half-lease (${JSON.stringify(counts)})`,
  );
  assert.deepEqual(
    cli.events.filter((e) => e.event === 'down'),
    [],
  );
  assert.ok(counts.udp > 0, 'the watcher refreshed nothing');
  assert.ok(perServer <= 1, `${perServer.toFixed(2)} packets per server per half-lease`);
});
