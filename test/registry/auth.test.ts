/**
 * A registry with etcd's authentication on: the user and password of the URL reach etcd, a
 * wrong password is a warning (not a crash), and doctor reports it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResponder } from '../../src/index.js';
import { openRegistry } from '../../src/registry/adapter.js';
import { resolveRegistry } from '../../src/registry/config.js';
import { recordKey } from '../../src/registry/record.js';
import { beckon } from '../helpers/cli.js';
import { startEtcd } from '../helpers/etcd.js';
import { recordingLogger } from '../helpers/logger.js';
import { until } from '../helpers/wait.js';

describe('a registry with etcd users', () => {
  it('passes the user and password through; a wrong one is a warning naming no password', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const { Etcd3 } = await import('etcd3');
    const admin = new Etcd3({ hosts: `http://127.0.0.1:${etcd.clientPort}` });
    await admin.role('root').create();
    await admin.user('root').create('root-pw');
    await admin.user('root').addRole('root');
    const role = await admin.role('fleet').create();
    await role.grant({ permission: 'Readwrite', range: admin.range({ prefix: 'beckon/' }) });
    await admin.user('fleet').create('s3cret/pw');
    await admin.user('fleet').addRole('fleet');
    await admin.auth.authEnable();
    admin.close();
    const host = `127.0.0.1:${etcd.clientPort}`;

    const good = createResponder({
      port: 0,
      env: {},
      joinGroups: false,
      registry: `etcd://fleet:s3cret%2Fpw@${host}`,
      instanceId: 'authed',
      advertiseAddress: '192.0.2.70',
    });
    t.after(() => good.stop());
    assert.equal(good.settings.registry, `etcd://fleet@${host}`);
    const registered = new Promise((resolve) =>
      good.on('registry', ({ state }) => state === 'registered' && resolve(undefined)),
    );
    await good.start();
    await registered;
    const settings = resolveRegistry(
      { url: `etcd://${host}`, username: 'fleet', password: 's3cret/pw' },
      {},
    );
    assert.ok(settings);
    const reader = await openRegistry(settings);
    t.after(() => reader.close());
    const key = recordKey('beckon/', undefined, 'authed');
    assert.equal((await reader.list(key)).length, 1);

    const logger = recordingLogger();
    const bad = createResponder({
      port: 0,
      env: {},
      joinGroups: false,
      logger,
      registry: `etcd://fleet:wrong-pw@${host}`,
      instanceId: 'refused',
      advertiseAddress: '192.0.2.71',
    });
    t.after(() => bad.stop());
    await bad.start();
    await until(() => logger.warnings.length > 0, 10_000, 'the warning');
    assert.match(logger.warnings[0] ?? '', /unreachable.*auth/i);
    assert.doesNotMatch(logger.warnings.join('\n'), /wrong-pw/);
    await bad.stop();

    const doctor = await beckon([
      'doctor',
      '--no-self-test',
      '--json',
      '--registry',
      `etcd://fleet:wrong-pw@${host}`,
    ]);
    const report = JSON.parse(doctor.stdout);
    assert.equal(report.registry.reachable, false);
    assert.equal(report.registry.url, `etcd://fleet@${host}`);
    assert.doesNotMatch(doctor.stdout, /wrong-pw/);
  });
});
