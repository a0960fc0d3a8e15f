/**
 * Issue 16, "one host, many services", shown with real processes inside network namespaces: a
 * server host runs several apps on the default UDP port 9999 (Express and Fastify with beckon,
 * `beckon serve` as a sidecar, a node:cluster app), a client host on the same LAN finds them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discoverCli, originalDiscover, summary } from '../beckon.js';

import {
  killAndMeasure,
  lab,
  portHolders,
  probeOnce,
  services,
  TAKEOVER_BOUND_MS,
  threeApps,
} from '../many-services.js';

describe('scenario 16: one host, many services on the default port', () => {
  it('16a: Express, Fastify and beckon serve on one host are all found, by every client', async (t) => {
    const net = await lab(t, 1);
    if (!net) return;
    const { server, client, ip } = net;
    const apps = threeApps(server);
    // Started together: which one binds the port is up to the kernel.
    const processes = await Promise.all(apps.map((app) => app.start()));
    assert.equal(portHolders(server).length, 1);
    assert.ok(
      processes.some((p) => p.pid === portHolders(server)[0]),
      'one of the three holds UDP 9999',
    );
    const expected = [`${ip}:8080@eth0`, `${ip}:8081@eth0`, `${ip}:8090@eth0`];

    const plain = await discoverCli(client, '--timeout', '1');
    assert.equal(plain.status, 0, plain.run.stderr);
    assert.deepEqual(summary(plain.servers), expected);

    const extended = await discoverCli(client, '--timeout', '1', '--extended');
    assert.deepEqual(summary(extended.servers), expected);
    assert.deepEqual(services(extended.servers), ['billing', 'orders', 'users']);
    assert.equal(new Set(extended.servers.map((s) => s.metadata?.instanceId)).size, 3);

    const original = await originalDiscover(client, '--timeout', '1');
    assert.deepEqual(original.map((s) => `${s.ip}:${s.port}`).sort(), [
      `${ip}:8080`,
      `${ip}:8081`,
      `${ip}:8090`,
    ]);

    for (const app of apps) {
      const one = await discoverCli(client, '--timeout', '1', '--service', app.service);
      assert.equal(one.status, 0, one.run.stderr);
      assert.deepEqual(summary(one.servers), [`${ip}:${app.httpPort}@eth0`], app.label);
      assert.deepEqual(services(one.servers), [app.service]);
    }
    const none = await discoverCli(client, '--timeout', '1', '--service', 'nobody');
    assert.equal(none.status, 1);
    assert.deepEqual(none.servers, []);

    for (const flags of [[], ['--extended']]) {
      const unicast = await discoverCli(
        client,
        '--timeout',
        '1',
        '--no-broadcast',
        '--target',
        ip,
        ...flags,
      );
      assert.equal(unicast.status, 0, unicast.run.stderr);
      assert.deepEqual(summary(unicast.servers), expected, flags.join());
    }

    // Each reply is its own datagram: three plain replies, three extended answers, per request.
    assert.deepEqual((await probeOnce(client, ip, 'plain')).map((r) => r.text).sort(), [
      `SERVER_IP:${ip}:8080`,
      `SERVER_IP:${ip}:8081`,
      `SERVER_IP:${ip}:8090`,
    ]);
    assert.deepEqual(
      (await probeOnce(client, ip, 'extended')).map((r) => `${r.service}:${r.port}`).sort(),
      ['billing:8090', 'orders:8080', 'users:8081'],
    );
  });

  it('16b: SIGKILL of the answering app: the others answered again within 1 s, its record gone within 2 s; restarted, it registers again', async (t) => {
    const net = await lab(t, 2);
    if (!net) return;
    const { server, client, ip } = net;
    const apps = threeApps(server);
    const processes = await Promise.all(apps.map((app) => app.start()));
    const all = ['billing', 'orders', 'users'];
    const instances = async () => {
      const answers = await probeOnce(client, ip, 'extended');
      assert.deepEqual(answers.map((a) => a.service).sort(), all);
      return new Map(answers.map((a) => [a.service ?? '', a.instanceId ?? '']));
    };

    const ROUNDS = 3;
    for (let round = 1; round <= ROUNDS + 1; round++) {
      // Rounds 1-3 kill whoever answers for the host; the last kills a registered one.
      const answering = round <= ROUNDS;
      const [holder] = portHolders(server);
      const index = processes.findIndex((p) =>
        answering ? p.pid === holder : p.pid !== holder && !p.done,
      );
      const app = apps[index];
      const victimProcess = processes[index];
      assert.ok(app && victimProcess?.pid, `round ${round}: no victim (holder pid ${holder})`);
      const ids = await instances();
      const others = all.filter((s) => s !== app.service);
      const measured = await killAndMeasure(
        client,
        ip,
        { pid: victimProcess.pid, instanceId: ids.get(app.service) ?? '?', service: app.service },
        others,
        processes.filter((p) => p !== victimProcess),
      );
      console.log(
        `16b round ${round}: SIGKILL of the ${answering ? 'answering' : 'registered'} ${app.label} ` +
          `(${app.service}): ${others.join(' and ')} answered again ${measured.takeoverMs.toFixed(0)} ms ` +
          `after the kill (port taken over after ${measured.portTakenMs?.toFixed(0) ?? '-'} ms); ` +
          `its record last answered ${measured.lastSeenMs.toFixed(0)} ms after it`,
      );
      assert.ok(
        measured.takeoverMs <= TAKEOVER_BOUND_MS,
        `round ${round}: answered again after ${measured.takeoverMs.toFixed(0)} ms`,
      );
      assert.ok(
        measured.lastSeenMs <= 2000,
        `round ${round}: record still answered ${measured.lastSeenMs.toFixed(0)} ms after the kill`,
      );
      assert.equal(measured.portTakenMs !== undefined, answering, 'a survivor took the port over');
      assert.equal((await victimProcess.exited).signal, 'SIGKILL');
      assert.equal(portHolders(server).length, 1, 'one process holds the port again');
      assert.notEqual(portHolders(server)[0], victimProcess.pid);

      // Restarted, it registers with whoever answers now, and all three are found again.
      const restarted = await app.start();
      processes[index] = restarted;
      assert.match(restarted.stdout, /registered|\[OK\] Registered with/);
      const again = await discoverCli(client, '--timeout', '1', '--extended');
      assert.deepEqual(services(again.servers), all);
      const newIds = await instances();
      assert.notEqual(newIds.get(app.service), ids.get(app.service), 'a new instance answers');
    }
  });
});
