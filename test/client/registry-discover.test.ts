/**
 * discover() with a registry (docs/registry.md, "Finding servers through the registry"): a real
 * etcd on loopback, records written as a responder writes them, responders on loopback with no
 * group joins; nothing leaves loopback (10.9.9.9 below is only ever written in a record: a route
 * lookup sends nothing).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { discover, discoverOne, type Server, type TraceEvent } from '../../src/index.js';
import { freePort, startEtcd } from '../helpers/etcd.js';
import { recordingLogger } from '../helpers/logger.js';
import { recordWriter } from '../helpers/registry-records.js';
import { trackResponders } from '../helpers/responders.js';

const start = trackResponders();

/** A client that asks 127.0.0.1 only (or nothing on the LAN), and reads the registry. */
const ASK_LOOPBACK = { broadcast: false, targets: ['127.0.0.1'], env: {} } as const;
const REGISTRY_ONLY = { broadcast: false, env: {} } as const;

describe('discover() with a registry', () => {
  it('finds a server through the registry only, via registry, and ends once it is read', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    await records.put({ instanceId: 'reg-1', service: 'orders', name: 'n1', port: 8081 });
    const started = performance.now();
    const traced: TraceEvent[] = [];
    const servers = await discover({
      ...REGISTRY_ONLY,
      registry: etcd.url,
      timeout: 5000,
      trace: (event) => traced.push(event),
    });
    const took = performance.now() - started;
    assert.equal(servers.length, 1);
    const [server] = servers as [Server];
    assert.equal(server.via, 'registry');
    assert.equal(server.url, 'http://127.0.0.1:8081');
    assert.equal(server.source, '127.0.0.1');
    assert.equal(server.sourcePort, 0);
    assert.equal(server.rttMs, 0);
    assert.equal(server.interface, 'lo');
    assert.equal(server.metadata?.instanceId, 'reg-1');
    assert.equal(server.metadata?.service, 'orders');
    assert.equal(server.metadata?.name, 'n1');
    assert.equal(JSON.parse(server.raw).instanceId, 'reg-1');
    assert.deepEqual(
      server.addresses.map((a) => [a.address, a.via]),
      [['127.0.0.1', 'registry']],
    );
    // No LAN path: the run ends when the registry was read, not at the deadline.
    assert.ok(took < 3000, `took ${Math.round(took)} ms`);
    const registry = traced.flatMap((e) =>
      e.type === 'registry' ? [`${e.action} ${e.key ?? '-'} ${e.outcome ?? e.detail}`] : [],
    );
    assert.deepEqual(registry, [
      'read - 1 entries',
      'record beckon/services/orders/reg-1 accepted',
    ]);
    assert.deepEqual(
      traced.filter((e) => e.type === 'end').map((e) => e.type === 'end' && e.reason),
      ['registry-read'],
    );
  });

  it('a server found both on the LAN and in the registry is one result with both addresses', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const responder = await start({ instanceId: 'both-1', service: 'orders', httpPort: 8082 });
    const records = recordWriter(t, etcd);
    await records.put({
      instanceId: 'both-1',
      service: 'orders',
      port: 8082,
      addresses: ['127.0.0.1', '10.9.9.9'],
    });
    const servers = await discover({
      ...ASK_LOOPBACK,
      port: responder.port,
      registry: etcd.url,
      timeout: 1500,
    });
    assert.equal(servers.length, 1, JSON.stringify(servers));
    const [server] = servers as [Server];
    assert.equal(server.metadata?.instanceId, 'both-1');
    assert.equal(server.ip, '127.0.0.1');
    assert.equal(server.via, 'target'); // its best path
    assert.ok(server.rttMs > 0);
    assert.deepEqual(
      server.addresses.map((a) => [a.address, a.via]),
      [
        ['127.0.0.1', 'target'],
        ['10.9.9.9', 'registry'],
      ],
    );
  });

  it('reads only the records of the service asked for', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    await records.put({ instanceId: 'a-1', service: 'alpha' });
    await records.put({ instanceId: 'b-1', service: 'beta' });
    await records.put({ instanceId: 'n-1' });
    const alpha = await discover({ ...REGISTRY_ONLY, registry: etcd.url, service: 'alpha' });
    assert.deepEqual(
      alpha.map((s) => s.metadata?.instanceId),
      ['a-1'],
    );
    const all = await discover({ ...REGISTRY_ONLY, registry: etcd.url });
    assert.deepEqual(all.map((s) => s.metadata?.instanceId).sort(), ['a-1', 'b-1', 'n-1']);
  });

  it('with an auth key, believes only records signed with it', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const keyText = randomBytes(24).toString('base64');
    const key = Buffer.from(keyText); // the key is its text's bytes, as the responder takes it
    const other = Buffer.from(randomBytes(24).toString('base64'));
    const records = recordWriter(t, etcd);
    await records.put({ instanceId: 'signed', service: 's' }, { signingKey: key });
    await records.put({ instanceId: 'unsigned', service: 's' });
    await records.put({ instanceId: 'other-key', service: 's' }, { signingKey: other });
    const tampered = await records.put(
      { instanceId: 'tampered', service: 's' },
      { signingKey: key },
    );
    const value = (await records.client.get(tampered.key).string()) as string;
    await records.raw(tampered.key, value.replace('127.0.0.1', '127.0.0.9'));
    const logger = recordingLogger();
    const servers = await discover({
      ...REGISTRY_ONLY,
      registry: etcd.url,
      authKey: keyText,
      logger,
    });
    assert.deepEqual(
      servers.map((s) => s.metadata?.instanceId),
      ['signed'],
    );
    assert.equal(servers[0]?.authenticated, true);
    const refused = logger.warnings.filter((w) => w.startsWith('Ignored registry record'));
    assert.equal(refused.length, 3, logger.warnings.join('\n'));
    assert.ok(refused.some((w) => w.includes('unsigned')));
    assert.ok(refused.some((w) => w.includes('bad-signature')));
    // Without the key, all four are read (the signature is not checked).
    const unchecked = await discover({ ...REGISTRY_ONLY, registry: etcd.url, env: {} });
    assert.equal(unchecked.length, 4);
  });

  it('applies the LAN checks: no unusable address, maxResults', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    await records.put({
      instanceId: 'mixed',
      addresses: ['240.0.0.1', '::ffff:127.0.0.1', '10.9.9.9'],
    });
    await records.put({ instanceId: 'none', addresses: ['255.255.255.255'] });
    await records.raw('beckon/services/_/junk', 'not json');
    const servers = await discover({ ...REGISTRY_ONLY, registry: etcd.url });
    assert.deepEqual(
      servers.map((s) => [s.metadata?.instanceId, s.addresses.map((a) => a.address)]),
      [['mixed', ['127.0.0.1', '10.9.9.9']]],
    );
    // A run kept to one family keeps the addresses of that family.
    await records.put({ instanceId: 'dual', addresses: ['10.9.9.8', 'fd00::8'] });
    const ipv6 = await discover({ ...REGISTRY_ONLY, registry: etcd.url, family: 'IPv6' });
    assert.deepEqual(
      ipv6.map((s) => [s.metadata?.instanceId, s.ip]),
      [['dual', 'fd00::8']],
    );
    const ipv4 = await discover({ ...REGISTRY_ONLY, registry: etcd.url, family: 'IPv4' });
    assert.deepEqual(ipv4.map((s) => s.addresses.length).sort(), [1, 2]);
    for (let i = 0; i < 4; i++) await records.put({ instanceId: `many-${i}` });
    const two = await discover({ ...REGISTRY_ONLY, registry: etcd.url, maxResults: 2 });
    assert.equal(two.length, 2);
    const one = await discoverOne({ ...REGISTRY_ONLY, registry: etcd.url });
    assert.ok(one?.metadata?.instanceId);
  });

  it('an unreachable registry is a warning: the LAN results come back, within the deadline', async () => {
    const responder = await start({ service: 'orders' });
    const port = await freePort(); // nothing listens there
    const logger = recordingLogger();
    const started = performance.now();
    const servers = await discover({
      ...ASK_LOOPBACK,
      port: responder.port,
      registry: `etcd://127.0.0.1:${port}`,
      timeout: 1500,
      logger,
    });
    const took = performance.now() - started;
    assert.equal(servers.length, 1);
    assert.equal(servers[0]?.via, 'target');
    assert.ok(took < 2500, `took ${Math.round(took)} ms`);
    assert.ok(
      logger.warnings.some((w) => w.includes('Registry') && w.includes(`127.0.0.1:${port}`)),
      logger.warnings.join('\n'),
    );
  });

  it('a registry that does not answer is given up at the deadline, with a warning', async (t) => {
    // A TCP port that takes connections and never says a word: etcd hung, or a black hole.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sockets = new Set<Socket>();
    silent.on('connection', (socket) => sockets.add(socket));
    t.after(() => {
      for (const socket of sockets) socket.destroy();
      silent.close();
    });
    const { port } = silent.address() as AddressInfo;
    const responder = await start({ service: 'orders' });
    const logger = recordingLogger();
    const started = performance.now();
    const servers = await discover({
      ...ASK_LOOPBACK,
      port: responder.port,
      registry: `etcd://127.0.0.1:${port}`,
      timeout: 1000,
      logger,
    });
    const took = performance.now() - started;
    assert.equal(servers.length, 1);
    assert.ok(took < 1800, `took ${Math.round(took)} ms`);
    assert.ok(
      logger.warnings.some((w) => w.includes('no answer within the deadline (1000 ms)')),
      logger.warnings.join('\n'),
    );
  });

  it('refuses a malformed registry, and a registry with Fernet encryption', () => {
    assert.throws(() => discover({ registry: 'http://127.0.0.1:2379', env: {} }), /registry/);
    assert.throws(
      () =>
        discover({
          registry: 'etcd://127.0.0.1:2379',
          encryption: true,
          secretKey: `${randomBytes(32).toString('base64url')}=`,
          env: {},
        }),
      /Invalid registry: .*Fernet/,
    );
  });
});
