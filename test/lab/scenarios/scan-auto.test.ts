/**
 * Issue 18, subnet scan, `auto`: the corporate network that is a /16 on paper and /24 broadcast
 * domains in fact (test/lab/scan.ts with `clientPrefix: 16`). The client's interface says
 * 10.20.1.10/16, so the segmented-network check fires; broadcast finds nothing in its own
 * segment; `scan: 'auto'` then scans the /16, nearest /24s first, and finds the server in the
 * farthest segment via scan (the router answers the client's ARP for the routed segments).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { serve } from '../beckon.js';
import { FAR_IP, startScanLab } from '../scan.js';
import { describeRate, runScan, runScanCli } from '../scan-run.js';

it('scan auto from a /16-configured client finds the server in the farthest segment, via scan', async (t) => {
  const lab = await startScanLab(t, { clientPrefix: 16 });
  if (!lab) return;
  await serve(lab.host('far'), '--http-port', '8080');
  const rate = 5000;
  const run = await runScan(
    lab.host('client'),
    lab.host('router'),
    {
      scan: 'auto',
      scanRate: rate,
    },
    60_000,
  );
  t.diagnostic(`found ${run.found.map((s) => `${s.ip} via ${s.via} at ${s.at} ms`).join(', ')}`);
  t.diagnostic(`run ${run.ms} ms; wire ${describeRate(run.rate)}`);
  t.diagnostic(JSON.stringify(run.trace));
  assert.deepEqual(
    run.found.map((s) => [s.ip, s.port, s.via]),
    [[FAR_IP, 8080, 'scan']],
  );
  const start = run.trace.find((e) => e.type === 'scan-start');
  assert.equal(start?.auto, true);
  assert.deepEqual(start?.ranges, ['10.20.0.0/16']);
  for (const window of run.rate.windows) {
    assert.ok(window <= rate * 1.1, `a window of ${Math.round(window)} probes/s`);
  }
});

it('beckon discover --scan auto finds the far server; without --scan, the advice points to it', async (t) => {
  const lab = await startScanLab(t, { clientPrefix: 16 });
  if (!lab) return;
  await serve(lab.host('far'), '--http-port', '8080');
  const client = lab.host('client');

  const plain = await client.beckonRun(['discover', '--timeout', '1']);
  assert.equal(plain.status, 1, plain.stdout);
  assert.match(plain.stderr + plain.stdout, /beckon discover --scan auto/);
  assert.match(plain.stderr + plain.stdout, /10\.20\.0\.0\/16/);

  const run = await runScanCli(client, lab.host('router'), [
    '--scan',
    'auto',
    '--scan-rate',
    '5000',
  ]);
  t.diagnostic(`run ${run.ms} ms; wire ${describeRate(run.rate)}`);
  assert.equal(run.status, 0, run.run.stderr);
  assert.deepEqual(
    run.servers.map((s) => [s.ip, s.port, s.via]),
    [[FAR_IP, 8080, 'scan']],
  );
  for (const window of run.rate.windows) {
    assert.ok(window <= 5000 * 1.1, `a window of ${Math.round(window)} probes/s`);
  }
});
