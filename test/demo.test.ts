import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { canUseNetns, createNamespace } from './helpers/netns.js';
import { requirePrerequisite } from './helpers/prerequisite.js';

describe('npm run demo', () => {
  it('finds the demo server by its LAN address on a real interface and fetches it', (t) => {
    if (!requirePrerequisite(t, canUseNetns(), 'root with network namespaces')) return;
    // A private namespace: the demo's broadcast stays on a veth pair this test owns.
    const ns = createNamespace('10.77.0.1/24');
    try {
      const run = spawnSync(
        'ip',
        ['netns', 'exec', ns.name, process.execPath, 'examples/demo.js'],
        {
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /Discovering on v0 \(10\.77\.0\.1\/24 -> 10\.77\.0\.255\)/);
      assert.match(run.stdout, /Found http:\/\/10\.77\.0\.1:\d+ on v0/);
      assert.match(run.stdout, /-> 200 "Hello from the beckon demo!\\n"/);
    } finally {
      ns.remove();
    }
  });

  it('falls back to loopback on a host without a LAN interface', (t) => {
    if (!requirePrerequisite(t, canUseNetns(), 'root with network namespaces')) return;
    const ns = createNamespace('10.78.0.1/32'); // a /32 has no broadcast domain
    try {
      const run = spawnSync(
        'ip',
        ['netns', 'exec', ns.name, process.execPath, 'examples/demo.js'],
        {
          encoding: 'utf8',
          timeout: 20_000,
        },
      );
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /trying loopback/);
      assert.match(run.stdout, /Found http:\/\/127\.0\.0\.1:\d+ on lo/);
    } finally {
      ns.remove();
    }
  });
});
