import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { startLab } from './lab/lab.js';

/**
 * Runs examples/demo.js on a lab host whose only LAN interface holds `cidr`, so the demo's
 * broadcast stays on links this test owns. Returns its stdout, or undefined when skipped.
 */
async function runDemo(
  t: TestContext,
  cidr: string | [],
  options: { ipv6?: boolean } = {},
): Promise<string | undefined> {
  const lab = await startLab(t, {
    demo: { interfaces: { eth0: { segment: 'lan', address: cidr } } },
  });
  if (!lab) return undefined;
  if (options.ipv6 === false)
    lab.host('demo').writeProc('sys/net/ipv6/conf/eth0/disable_ipv6', '1');
  else await lab.host('demo').linkLocal('eth0');
  const run = await lab.host('demo').run(process.execPath, ['examples/demo.js']);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  return run.stdout;
}

describe('npm run demo', () => {
  it('finds the demo server by its LAN address on a real interface and fetches it', async (t) => {
    const stdout = await runDemo(t, '10.77.0.1/24');
    if (stdout === undefined) return;
    assert.match(stdout, /Discovering on eth0 \(10\.77\.0\.1\/24 -> 10\.77\.0\.255\)/);
    assert.match(stdout, /Found http:\/\/10\.77\.0\.1:\d+ on eth0/);
    assert.match(stdout, /-> 200 "Hello from Express!\\n"/);
    assert.match(stdout, /4\. SIGTERM: the app exited with code 0, discovery closed/);
  });

  it('falls back to loopback on a host without a LAN interface', async (t) => {
    // A /32 has no broadcast domain, and without IPv6 eth0 has no link-local address either.
    const stdout = await runDemo(t, '10.78.0.1/32', { ipv6: false });
    if (stdout === undefined) return;
    assert.match(stdout, /trying loopback/);
    assert.match(stdout, /Found http:\/\/127\.0\.0\.1:\d+ on lo/);
  });

  it('on a LAN with only IPv6 link-local addresses, finds the zoned URL and GETs it', async (t) => {
    const stdout = await runDemo(t, []);
    if (stdout === undefined) return;
    assert.match(stdout, /Found http:\/\/\[fe80::[\da-f:]+%25eth0\]:\d+ on eth0/);
    assert.match(stdout, /-> 200 "Hello from Express!\\n"/);
  });
});
