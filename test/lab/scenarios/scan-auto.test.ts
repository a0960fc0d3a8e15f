/**
 * Issue 18, subnet scan, `auto`: the corporate network that is larger on paper than its
 * broadcast domains (test/lab/scan.ts with `clientPrefix: 20`). The client's interface says
 * 10.20.1.10/20, so the segmented-network check fires; broadcast finds nothing in its own
 * segment; `scan: 'auto'` then scans the /20, nearest /24s first, and finds the servers in a
 * middle (10.20.7.0/24) and the farthest segment (10.20.15.0/24) via scan. The client takes the
 * /20 for on-link and asks ARP for every address; the router answers for the segments it routes
 * (proxy ARP), as such a network must. An on-link range is scanned at most at 256 probes/s (the
 * neighbour table, docs/beyond-one-lan.md), so a /16 here would take 4.3 minutes: the /20 takes
 * 16 s. The probes are counted as they leave the client (most never reach the wire: no neighbour
 * answers for the empty addresses), and so are its ARP requests.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { serve } from '../beckon.js';
import { arpRequests, FAR_IP_20, MIDDLE_IP, startScanLab } from '../scan.js';
import { describeRate, runScan, runScanCli } from '../scan-run.js';

/** The on-link hold: a quarter of Linux's default neighbour table (1024) a second. */
const ON_LINK_RATE = 256;

it('scan auto from a /20-configured client finds the servers in a middle and the farthest segment, via scan', async (t) => {
  const lab = await startScanLab(t, { clientPrefix: 20 });
  if (!lab) return;
  await serve(lab.host('middle'), '--http-port', '8080');
  await serve(lab.host('far'), '--http-port', '8080');
  const client = lab.host('client');
  const arpsBefore = arpRequests(client);
  const run = await runScan(client, client, { scan: 'auto' }, 60_000);
  const arps = arpRequests(client) - arpsBefore;
  t.diagnostic(`found ${run.found.map((s) => `${s.ip} via ${s.via} at ${s.at} ms`).join(', ')}`);
  t.diagnostic(`run ${run.ms} ms; probes leaving ${describeRate(run.rate)}; ${arps} ARP requests`);
  assert.deepEqual(run.found.map((s) => [s.ip, s.port, s.via]).sort(), [
    [FAR_IP_20, 8080, 'scan'],
    [MIDDLE_IP, 8080, 'scan'],
  ]);
  const start = run.trace.find((e) => e.type === 'scan-start');
  const done = run.trace.find((e) => e.type === 'scan-done');
  assert.equal(start?.auto, true);
  assert.deepEqual(start?.ranges, ['10.20.0.0/20']);
  assert.equal(start?.rate, ON_LINK_RATE, 'an on-link /20 is held to the on-link rate');
  assert.equal(done?.complete, true);
  const addresses = start?.addresses as number;
  assert.ok(run.rate.total >= addresses, `${run.rate.total} probes left for ${addresses}`);
  for (const window of run.rate.windows) {
    assert.ok(window <= ON_LINK_RATE * 1.1, `a window of ${Math.round(window)} probes/s`);
  }
  // The far segment is the last /24 of the /20: found near the end, after 1 s of broadcast.
  const far = run.found.find((s) => s.ip === FAR_IP_20);
  const documented = 1000 + (addresses / ON_LINK_RATE) * 1000 + 1000;
  assert.ok(far && far.at >= documented * 0.6, `far found at ${far?.at} ms`);
  assert.ok(run.ms <= documented + 4000, `${run.ms} ms, documented ${documented}`);
});

it('beckon discover --scan auto finds the far server; without --scan, the advice points to it', async (t) => {
  const lab = await startScanLab(t, { clientPrefix: 20 });
  if (!lab) return;
  await serve(lab.host('far'), '--http-port', '8080');
  const client = lab.host('client');

  const plain = await client.beckonRun(['discover', '--timeout', '1']);
  assert.equal(plain.status, 1, plain.stdout);
  assert.match(plain.stderr + plain.stdout, /beckon discover --scan auto/);
  assert.match(plain.stderr + plain.stdout, /10\.20\.0\.0\/20/);

  const run = await runScanCli(client, client, ['--scan', 'auto']);
  t.diagnostic(`run ${run.ms} ms; probes leaving ${describeRate(run.rate)}`);
  assert.equal(run.status, 0, run.run.stderr);
  assert.deepEqual(
    run.servers.map((s) => [s.ip, s.port, s.via]),
    [[FAR_IP_20, 8080, 'scan']],
  );
  for (const window of run.rate.windows) {
    assert.ok(window <= ON_LINK_RATE * 1.1, `a window of ${Math.round(window)} probes/s`);
  }
});
