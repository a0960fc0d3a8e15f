/**
 * Issue 16, "one host, many services", shown with real processes inside network namespaces: a
 * server host runs several apps on the default UDP port 9999 (Express and Fastify with beckon,
 * `beckon serve` as a sidecar, a node:cluster app), a client host on the same LAN finds them.
 * This file: node:cluster and keys (16c-16e); many-services.test.ts has 16a and 16b. Two files,
 * so that each stays well inside the per-file test timeout.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoverCli, discoverCliWithEnv, originalDiscover, summary } from '../beckon.js';
import { ROOT } from '../lab.js';

import {
  channelHolders,
  frameworkApp,
  KEY,
  killAndMeasure,
  lab,
  portHolders,
  probeOnce,
  services,
  sidecar,
  TAKEOVER_BOUND_MS,
  until,
} from '../many-services.js';

describe('scenario 16: one host, many services on the default port (cluster, keys)', () => {
  it('16c: node:cluster with 4 workers of one app beside a second app: two answers, not five', async (t) => {
    const net = await lab(t, 3);
    if (!net) return;
    const { server, client, ip } = net;
    // The cluster first, so that a worker answers for the host (its workers race for the port).
    const orders = await frameworkApp(server, 'express', 'orders', 8080, 4).start();
    const users = await frameworkApp(server, 'fastify', 'users', 8081).start();
    const workers = [...orders.stdout.matchAll(/state (\d+) /g)].map((m) => Number(m[1]));
    assert.equal(new Set(workers).size, 4, orders.stdout);
    assert.equal(portHolders(server).length, 1);
    assert.ok(workers.includes(portHolders(server)[0] ?? 0), 'a worker answers for the host');
    assert.match(users.stdout, /state \d+ registered/);

    const expectTwo = async (when: string) => {
      assert.deepEqual(
        (await probeOnce(client, ip, 'plain')).map((r) => r.text).sort(),
        [`SERVER_IP:${ip}:8080`, `SERVER_IP:${ip}:8081`],
        `plain, ${when}`,
      );
      assert.deepEqual(
        (await probeOnce(client, ip, 'extended')).map((r) => `${r.service}:${r.port}`).sort(),
        ['orders:8080', 'users:8081'],
        `extended, ${when}`,
      );
    };
    await expectTwo('all running');
    const cli = await discoverCli(client, '--timeout', '1', '--extended');
    assert.deepEqual(summary(cli.servers), [`${ip}:8080@eth0`, `${ip}:8081@eth0`]);
    assert.deepEqual(services(cli.servers), ['orders', 'users']);
    const original = await originalDiscover(client, '--timeout', '1');
    assert.deepEqual(original.map((s) => `${s.ip}:${s.port}`).sort(), [`${ip}:8080`, `${ip}:8081`]);

    // A registered worker dies: its record goes, the identical records of the others stand in,
    // and it is still two answers. (The answering worker's death is scenario 16e.)
    const [holder] = portHolders(server);
    const victim = workers.find((pid) => pid !== holder);
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    await until('the killed worker gone', 5000, () => {
      try {
        process.kill(victim, 0);
        return undefined;
      } catch {
        return true;
      }
    });
    await expectTwo('a registered worker killed');
    assert.deepEqual(portHolders(server), [holder]);
    assert.ok(!users.done && !orders.done);
  });

  it('16d: a keyed service and an open one on one host: plain clients see only the open one', async (t) => {
    const net = await lab(t, 4);
    if (!net) return;
    const { server, client, ip } = net;
    const keyed = sidecar(server, 'vault', 8090, { DISCOVERY_AUTH_KEYS: KEY });
    const open = frameworkApp(server, 'express', 'open', 8080);
    // Both ways round: the keyed one answering for the host, then the open one.
    for (const [first, second] of [
      [keyed, open],
      [open, keyed],
    ] as const) {
      const when = `${first.service} answering for the host`;
      const firstProcess = await first.start();
      const secondProcess = await second.start();
      assert.deepEqual(portHolders(server), [firstProcess.pid], when);
      assert.match(secondProcess.stdout, /registered|\[OK\] Registered with/, when);

      const original = await originalDiscover(client, '--timeout', '1');
      assert.deepEqual(
        original.map((s) => `${s.ip}:${s.port}`),
        [`${ip}:8080`],
        `original client, ${when}`,
      );
      assert.deepEqual(
        (await probeOnce(client, ip, 'plain')).map((r) => r.text),
        [`SERVER_IP:${ip}:8080`],
        when,
      );
      assert.deepEqual(
        (await probeOnce(client, ip, 'extended')).map((r) => r.service),
        ['open'],
        when,
      );
      const plain = await discoverCli(client, '--timeout', '1');
      assert.deepEqual(summary(plain.servers), [`${ip}:8080@eth0`], when);
      const unsigned = await discoverCli(client, '--timeout', '1', '--service', 'vault');
      assert.equal(unsigned.status, 1, when);
      assert.deepEqual(unsigned.servers, [], when);

      const signed = await discoverCliWithEnv(
        client,
        { DISCOVERY_CLIENT_AUTH_KEY: KEY },
        '--timeout',
        '1',
      );
      assert.equal(signed.status, 0, signed.run.stderr);
      assert.deepEqual(summary(signed.servers), [`${ip}:8090@eth0`], when);
      assert.deepEqual(services(signed.servers), ['vault'], when);
      assert.ok(
        signed.servers.every((s) => s.authenticated),
        when,
      );
      const wrongKey = await discoverCliWithEnv(
        client,
        { DISCOVERY_CLIENT_AUTH_KEY: `${KEY}-wrong` },
        '--timeout',
        '1',
      );
      assert.deepEqual(wrongKey.servers, [], when);

      for (const p of [secondProcess, firstProcess]) {
        p.kill('SIGTERM');
        assert.equal((await p.exited).status, 0, `${when}: ${p.stderr}`);
      }
    }
  });

  it('16e: the answering worker of a node:cluster app dies: both services answered again within 1 s', async (t) => {
    const net = await lab(t, 5);
    if (!net) return;
    const { server, client, ip } = net;
    // Workers that die are replaced, as PM2 and most cluster apps do.
    const cluster = server.spawn(process.execPath, [
      '--import',
      'tsx',
      `${ROOT}test/lab/drivers/service-app.ts`,
      'express',
      JSON.stringify({ service: 'orders', httpPort: 8080 }),
      '4',
      'refork',
    ]);
    await cluster.waitFor(/(state \d+ (answering|registered)[\s\S]*){4}/, 30_000);
    const users = frameworkApp(server, 'fastify', 'users', 8081);
    let usersProcess = await users.start();
    for (let round = 1; round <= 4; round++) {
      const [holder] = portHolders(server);
      // The host channel is the answering process's own, not a cluster primary's.
      assert.deepEqual(channelHolders(server), [holder], `round ${round}: the channel's holder`);
      const killsUsers = holder === usersProcess.pid;
      const answers = await probeOnce(client, ip, 'extended');
      const victimService = killsUsers ? 'users' : 'orders';
      const instanceId = answers.find((a) => a.service === victimService)?.instanceId ?? '?';
      const measured = await killAndMeasure(
        client,
        ip,
        { pid: holder ?? 0, instanceId, service: victimService },
        killsUsers ? ['orders'] : ['orders', 'users'],
        [cluster, usersProcess],
      );
      console.log(
        `16e round ${round}: SIGKILL of the answering ${killsUsers ? 'Fastify app' : 'cluster worker'}: ` +
          `answered again ${measured.takeoverMs.toFixed(0)} ms after the kill (port taken over ` +
          `after ${measured.portTakenMs?.toFixed(0) ?? '-'} ms)`,
      );
      assert.ok(
        measured.takeoverMs <= TAKEOVER_BOUND_MS,
        `round ${round}: answered again after ${measured.takeoverMs.toFixed(0)} ms`,
      );
      if (killsUsers) usersProcess = await users.start();
    }
  });
});
