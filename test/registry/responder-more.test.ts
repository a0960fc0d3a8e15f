/**
 * More of the responder's registration against a real etcd on loopback: address changes, a
 * long outage, the worker thread, and node:http's attachDiscovery.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { createResponder, type ResponderOptions } from '../../src/index.js';
import { attachDiscovery } from '../../src/integrations/http.js';
import { type IPv6InterfaceAddress, ipv6InterfacesFrom } from '../../src/network/interfaces6.js';
import type { RegistryConnection } from '../../src/registry/adapter.js';
import { decodeRecord, recordKey } from '../../src/registry/record.js';
import { connectEtcd, startEtcd } from '../helpers/etcd.js';
import { ipv4 } from '../helpers/interfaces.js';
import { recordingLogger } from '../helpers/logger.js';
import { until } from '../helpers/wait.js';

const recordAt = async (connection: RegistryConnection, key: string) => {
  const entry = (await connection.list(key).catch(() => [])).find((e) => e.key === key);
  if (!entry) return undefined;
  const decoded = decodeRecord(key, entry.value);
  return decoded.ok ? decoded.record : undefined;
};

function ipv6(table: Record<string, string[]>): IPv6InterfaceAddress[] {
  return ipv6InterfacesFrom(
    Object.fromEntries(
      Object.entries(table).map(([name, addresses]) => [
        name,
        addresses.map((address) => ({
          address,
          netmask: 'ffff:ffff:ffff:ffff::',
          family: 'IPv6' as const,
          mac: '00:00:00:00:00:00',
          internal: name === 'lo',
          cidr: `${address}/64`,
          scopeid: 0,
        })),
      ]),
    ),
  );
}

function start(t: TestContext, options: ResponderOptions) {
  const logger = recordingLogger();
  const responder = createResponder({ port: 0, env: {}, joinGroups: false, logger, ...options });
  t.after(() => responder.stop());
  return { responder, warnings: logger.warnings };
}

describe('a responder registering in etcd, further', () => {
  it("lists the host's routable addresses and rewrites its record when they change", async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const connection = await connectEtcd(t, etcd);
    let interfaces4 = [ipv4('lo', '127.0.0.1', true)];
    let interfaces6 = ipv6({ lo: ['::1'] });
    const { responder, warnings } = start(t, {
      registry: etcd.url,
      instanceId: 'moving',
      announce: false, // the interfaces are made up: nothing may be announced on them
      interfaceProvider: () => interfaces4,
      interfaceProvider6: () => interfaces6,
      interfacePollInterval: 200,
    });
    await responder.start();
    const key = recordKey('beckon/', undefined, 'moving');
    await until(() => warnings.some((w) => w.includes('no routable address')), 5000, 'the warning');
    assert.equal(
      await recordAt(connection, key),
      undefined,
      'nothing registered for loopback only',
    );
    interfaces4 = [
      ipv4('lo', '127.0.0.1', true),
      ipv4('eth0', '10.0.0.5'),
      ipv4('eth9', '169.254.3.3'),
    ];
    interfaces6 = ipv6({ lo: ['::1'], eth0: ['fe80::5', 'fd00::5', '2001:db8::5'] });
    await until(async () => (await recordAt(connection, key)) !== undefined, 5000, 'registered');
    assert.deepEqual((await recordAt(connection, key))?.addresses, [
      '10.0.0.5',
      '2001:db8::5',
      'fd00::5',
    ]);
    interfaces4 = [ipv4('eth1', '10.0.1.7')];
    interfaces6 = [];
    await until(
      async () => (await recordAt(connection, key))?.addresses.join() === '10.0.1.7',
      5000,
      'the new address',
    );
    assert.equal(warnings.length, 1, warnings.join('\n'));
  });

  it('comes back after an outage longer than its lease: one warning, then registered again', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const connection = await connectEtcd(t, etcd);
    const { responder, warnings } = start(t, {
      registry: { url: etcd.url, lease: 2000 },
      instanceId: 'outage',
      advertiseAddress: '192.0.2.60',
    });
    const states: string[] = [];
    responder.on('registry', ({ state }) => states.push(state));
    await responder.start();
    const key = recordKey('beckon/', undefined, 'outage');
    await until(async () => (await recordAt(connection, key)) !== undefined, 5000, 'registered');
    await etcd.stop();
    await new Promise((resolve) => setTimeout(resolve, 6000)); // three leases
    await etcd.restart();
    const back = performance.now();
    await until(
      async () => (await recordAt(connection, key)) !== undefined,
      10_000,
      'registered again',
    );
    t.diagnostic(`etcd back to registered: ${(performance.now() - back).toFixed(0)} ms`);
    await new Promise((resolve) => setTimeout(resolve, 3000)); // past the old lease
    assert.ok(await recordAt(connection, key), 'kept alive under its new lease');
    assert.equal(warnings.filter((w) => w.includes('unreachable')).length, 1, warnings.join('\n'));
    assert.deepEqual(states, ['connecting', 'registered', 'unreachable', 'registered']);
  });

  it('registers from a worker thread, and relays its registry events', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const connection = await connectEtcd(t, etcd);
    const { responder } = start(t, {
      worker: true,
      registry: etcd.url,
      instanceId: 'threaded',
      advertiseAddress: '192.0.2.61',
    });
    const registered = new Promise((resolve) =>
      responder.on('registry', ({ state }) => state === 'registered' && resolve(undefined)),
    );
    await responder.start();
    await registered;
    const key = recordKey('beckon/', undefined, 'threaded');
    assert.deepEqual((await recordAt(connection, key))?.addresses, ['192.0.2.61']);
    await responder.stop();
    assert.equal(await recordAt(connection, key), undefined);
  });

  it("node:http's attachDiscovery registers the port the server bound, from DISCOVERY_REGISTRY", async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const connection = await connectEtcd(t, etcd);
    const server = createServer((_req, res) => res.end('ok'));
    const handle = attachDiscovery(server, {
      enabled: true,
      port: 0,
      joinGroups: false,
      env: { DISCOVERY_REGISTRY: etcd.url },
      service: 'shop',
      instanceId: 'shop-1',
      advertiseAddress: '192.0.2.62',
      logger: recordingLogger(),
    });
    t.after(async () => {
      await handle.stop();
      server.close();
    });
    server.listen(0, '0.0.0.0');
    await once(server, 'listening');
    const key = recordKey('beckon/', 'shop', 'shop-1');
    await until(async () => (await recordAt(connection, key)) !== undefined, 10_000, 'registered');
    assert.equal((await recordAt(connection, key))?.port, (server.address() as AddressInfo).port);
    await handle.stop();
    assert.equal(await recordAt(connection, key), undefined, 'deleted when the handle stops');
  });
});
