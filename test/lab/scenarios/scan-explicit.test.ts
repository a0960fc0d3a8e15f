/**
 * Issue 18, subnet scan: an explicit scan of the lab's /16 (test/lab/scan.ts) from the client's
 * segment finds the servers behind the router, in a middle and in the farthest /24, `via:
 * 'scan'`, and the probe rate counted on the wire (at the router, the client's datagrams to the
 * discovery port, per 1 s window) stays under the configured rate.
 *
 * A /16 at the default 1,000 probes/s takes 66.5 s, more than a lab file may: the whole /16 is
 * scanned here at 5,000/s (the time to find the farthest server, and the documented duration,
 * addresses / rate + 1 s, checked at that rate), and the default rate over a /20 (4,094
 * addresses). bench/scan.ts scans the whole /16 at the default rate.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { serve } from '../beckon.js';
import { FAR_IP, MIDDLE_IP, startScanLab } from '../scan.js';
import { describeRate, runScan, runScanCli } from '../scan-run.js';

/** A window may run over the rate by this much: it is timed around an `nft list` of ~20 ms. */
const WINDOW_SLACK = 1.1;
/** Beyond addresses / rate + 1 s grace, for start-up and a loaded machine. */
const DURATION_SLACK_MS = 4000;

it('a /16 scan finds the servers in a middle and the farthest segment, via scan, within its time and rate', async (t) => {
  const lab = await startScanLab(t);
  if (!lab) return;
  await serve(lab.host('middle'), '--http-port', '8080');
  await serve(lab.host('far'), '--http-port', '8080');
  const rate = 5000;
  const run = await runScan(lab.host('client'), lab.host('router'), {
    scan: '10.20.0.0/16',
    scanRate: rate,
  });
  const far = run.found.find((s) => s.ip === FAR_IP);
  t.diagnostic(
    `found ${run.found.map((s) => `${s.ip} via ${s.via} at ${s.at} ms${s.named ? ', named' : ''}`).join(', ')}`,
  );
  t.diagnostic(`run ${run.ms} ms; wire ${describeRate(run.rate)}`);
  assert.deepEqual(run.found.map((s) => [s.ip, s.port, s.via]).sort(), [
    [FAR_IP, 8080, 'scan'],
    [MIDDLE_IP, 8080, 'scan'],
  ]);
  const start = run.trace.find((e) => e.type === 'scan-start');
  const done = run.trace.find((e) => e.type === 'scan-done');
  assert.ok(start && done, JSON.stringify(run.trace));
  const addresses = start.addresses as number;
  assert.ok(addresses >= 65_532 && addresses <= 65_534, `${addresses} addresses`);
  assert.equal(done.complete, true);
  assert.equal(done.failed, 0);
  // Every probe beyond the client's own /24 (on-link) crossed the router.
  assert.ok(run.rate.total >= addresses - 256, `${run.rate.total} probes seen for ${addresses}`);
  for (const window of run.rate.windows) {
    assert.ok(window <= rate * WINDOW_SLACK, `a window of ${Math.round(window)} probes/s`);
  }
  assert.ok(run.rate.windows.length >= 8, `only ${run.rate.windows.length} windows sampled`);
  // The documented time: addresses / rate + 1 s grace (13.1 s + 1 s at 5,000/s).
  const documented = (addresses / rate) * 1000 + 1000;
  assert.ok(run.ms <= documented + DURATION_SLACK_MS, `${run.ms} ms, documented ${documented}`);
  // Nearest /24s first: the farthest segment comes last, near the end of the scan.
  assert.ok(far && far.at >= (run.ms - 1000) * 0.5, `far found at ${far?.at} ms of ${run.ms}`);
});

it('beckon discover --scan at the default rate (1,000/s): a /20 takes its documented time and the wire never sees more', async (t) => {
  const lab = await startScanLab(t);
  if (!lab) return;
  await serve(lab.host('middle'), '--http-port', '8080');
  const run = await runScanCli(lab.host('client'), lab.host('router'), ['--scan', '10.20.0.0/20']);
  t.diagnostic(`run ${run.ms} ms; wire ${describeRate(run.rate)}`);
  assert.equal(run.status, 0, run.run.stderr);
  assert.deepEqual(
    run.servers.map((s) => [s.ip, s.port, s.via]),
    [[MIDDLE_IP, 8080, 'scan']],
  );
  // 4,094 addresses but the client's own: 4,093. Its own /24 is on-link: those probes never
  // reach the router.
  const addresses = 4093;
  assert.ok(run.rate.total >= addresses - 256, `${run.rate.total} probes seen for ${addresses}`);
  for (const window of run.rate.windows) {
    assert.ok(window <= 1000 * WINDOW_SLACK, `a window of ${Math.round(window)} probes/s`);
  }
  assert.ok(run.rate.mean <= 1000 * 1.02, `mean ${run.rate.mean}`);
  // The CLI's own start (Node, the bundle) is inside this time too.
  const documented = (addresses / 1000) * 1000 + 1000;
  assert.ok(run.ms <= documented + DURATION_SLACK_MS, `${run.ms} ms, documented ${documented}`);
});
