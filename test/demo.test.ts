import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import { canUseNetns, createNamespace } from './helpers/netns.js';
import { requirePrerequisite } from './helpers/prerequisite.js';

/**
 * Runs examples/demo.js in a private namespace whose veth holds `cidr`, so the demo's broadcast
 * stays on links this test owns. Returns its stdout, or undefined when skipped.
 */
function runDemo(t: TestContext, cidr: string): string | undefined {
  if (!requirePrerequisite(t, canUseNetns(), 'root with network namespaces')) return undefined;
  const ns = createNamespace(cidr);
  try {
    const run = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, 'examples/demo.js'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    return run.stdout;
  } finally {
    ns.remove();
  }
}

describe('npm run demo', () => {
  it('finds the demo server by its LAN address on a real interface and fetches it', (t) => {
    const stdout = runDemo(t, '10.77.0.1/24');
    if (stdout === undefined) return;
    assert.match(stdout, /Discovering on v0 \(10\.77\.0\.1\/24 -> 10\.77\.0\.255\)/);
    assert.match(stdout, /Found http:\/\/10\.77\.0\.1:\d+ on v0/);
    assert.match(stdout, /-> 200 "Hello from the beckon demo!\\n"/);
  });

  it('falls back to loopback on a host without a LAN interface', (t) => {
    const stdout = runDemo(t, '10.78.0.1/32'); // a /32 has no broadcast domain
    if (stdout === undefined) return;
    assert.match(stdout, /trying loopback/);
    assert.match(stdout, /Found http:\/\/127\.0\.0\.1:\d+ on lo/);
  });
});
