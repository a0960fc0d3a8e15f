/** `beckon doctor --registry`: a reachable registry and its records; an unreachable one. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResponder } from '../../src/index.js';
import { beckon } from '../helpers/cli.js';
import { startEtcd } from '../helpers/etcd.js';

describe('beckon doctor --registry', () => {
  it('counts the beckon records of a reachable registry, and makes an unreachable one a problem', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const responders = ['a', 'b'].map((id) =>
      createResponder({
        port: 0,
        env: {},
        joinGroups: false,
        registry: etcd.url,
        service: 'api',
        instanceId: id,
        advertiseAddress: '192.0.2.40',
      }),
    );
    t.after(() => Promise.all(responders.map((r) => r.stop())));
    await Promise.all(
      responders.map(async (r) => {
        const registered = new Promise((resolve) =>
          r.on('registry', ({ state }) => state === 'registered' && resolve(undefined)),
        );
        await r.start();
        await registered;
      }),
    );
    const json = await beckon(['doctor', '--no-self-test', '--json', '--registry', etcd.url]);
    const report = JSON.parse(json.stdout);
    assert.equal(report.registry.reachable, true, json.stdout);
    assert.equal(report.registry.records, 2);
    assert.deepEqual(report.registry.services, [{ service: 'api', records: 2 }]);
    assert.equal(
      report.findings.some((f: { id: string }) => f.id.startsWith('registry')),
      false,
    );
    const text = await beckon(['doctor', '--no-self-test'], { DISCOVERY_REGISTRY: etcd.url });
    assert.match(
      text.stdout,
      /Registry etcd:\/\/127\.0\.0\.1:\d+\n {2}reachable \(read in \d+ ms\): 2 beckon records \(api: 2\)/,
    );

    await etcd.stop();
    const down = await beckon(['doctor', '--no-self-test', '--registry', etcd.url]);
    assert.equal(down.code, 1);
    assert.match(down.stdout, /NOT reachable/);
    assert.match(down.stdout, /\[problem\] The registry etcd:\/\/127\.0\.0\.1:\d+ cannot be read/);
    assert.ok(down.ms < 15_000, `doctor took ${down.ms} ms with etcd down`);
  });

  it('names --registry when the URL is bad', async () => {
    const run = await beckon(['doctor', '--no-self-test', '--registry', 'etcd//x']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Invalid --registry: "etcd\/\/x"/);
  });
});
