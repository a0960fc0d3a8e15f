/**
 * watch() with a registry (docs/registry.md): a real etcd on loopback, records written as a
 * responder writes them, the LAN side on loopback (responders without group joins, raw
 * announcements to 127.255.255.255). 10.9.9.9 is only ever written in a record.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { type DownReason, type Server, type Watcher, watch } from '../../src/index.js';
import * as extended from '../../src/protocol/extended.js';
import { encodeRecord, recordKey } from '../../src/registry/record.js';
import { connectEtcd, startEtcd } from '../helpers/etcd.js';
import { recordingLogger } from '../helpers/logger.js';
import { recordWriter } from '../helpers/registry-records.js';
import { trackResponders } from '../helpers/responders.js';
import { freeUdpPort, LOCAL, sleep } from '../helpers/udp.js';

const start = trackResponders();

/** A watcher closed after the test. */
function watching(options: Parameters<typeof watch>[0]): Watcher {
  const watcher = watch({ timeout: 500, env: {}, ...options });
  after(() => watcher.close());
  return watcher;
}

/** The first `type` event whose server matches `test`, and when it came; rejects after `ms`. */
function next(
  watcher: Watcher,
  type: 'up' | 'down' | 'update',
  test: (server: Server) => boolean,
  ms: number,
): Promise<{ server: Server; reason: DownReason | undefined; at: number }> {
  return new Promise((resolve, reject) => {
    const servers = () => watcher.servers.map((s) => s.metadata?.instanceId).join(',');
    const timer = setTimeout(
      () => reject(new Error(`no ${type} within ${ms} ms (there: ${servers()})`)),
      ms,
    );
    const listener = (server: Server, reason?: DownReason) => {
      if (!test(server)) return;
      clearTimeout(timer);
      watcher.off(type, listener);
      resolve({ server, reason, at: performance.now() });
    };
    watcher.on(type, listener);
  });
}

const id = (instanceId: string) => (server: Server) => server.metadata?.instanceId === instanceId;
const addresses = (server: Server) => server.addresses.map((a) => `${a.address} ${a.via}`);

/** Every event of a watcher, as text. */
function record(watcher: Watcher): string[] {
  const events: string[] = [];
  watcher.on('up', (s) => events.push(`up ${s.metadata?.instanceId}`));
  watcher.on('update', (s) => events.push(`update ${s.metadata?.instanceId}`));
  watcher.on('down', (s, reason) => events.push(`down ${s.metadata?.instanceId} ${reason}`));
  return events;
}

/** A raw peer on 127.0.0.1 announcing a server that then falls silent without a goodbye. */
async function rawAnnouncer(announcePort: number) {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  socket.setBroadcast(true);
  after(() => socket.close());
  return (instanceId: string, lease: number) =>
    socket.send(
      extended.encodeAnnouncement({
        nonce: randomBytes(extended.NONCE_SIZE),
        timestamp: Date.now(),
        address: '127.0.0.1',
        port: 8080,
        metadata: { instanceId, service: 'svc', values: {} },
        lease,
      }),
      announcePort,
      '127.255.255.255',
    );
}

describe('watch() with a registry', () => {
  it('follows the registry: up, update, down at a goodbye, down at a delete or an expiry', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    await records.put({ instanceId: 'first' });
    const watcher = watching({ broadcast: false, registry: etcd.url });
    const events = record(watcher);
    await next(watcher, 'up', id('first'), 5000); // the watch is on
    const up = next(watcher, 'up', id('a'), 2000);
    const put = performance.now();
    const a = await records.put({ instanceId: 'a', service: 'svc' });
    const { server, at } = await up;
    assert.equal(server.via, 'registry');
    assert.ok(at - put < 1000, `up ${Math.round(at - put)} ms after the put`);
    // The table says since when, and that the registry holds it now.
    const row = watcher.table.find((r) => r.server.metadata?.instanceId === 'a');
    assert.ok(row);
    assert.ok(Math.abs(Date.now() - 500 - row.since.getTime()) < 1500, row.since.toISOString());
    assert.ok(Date.now() - row.lastSeen.getTime() < 200, row.lastSeen.toISOString());

    const grown = next(watcher, 'update', id('a'), 2000);
    await a.change({ addresses: ['127.0.0.1', '10.9.9.9'] });
    assert.deepEqual(addresses((await grown).server), ['127.0.0.1 registry', '10.9.9.9 registry']);
    const moved = next(watcher, 'update', id('a'), 2000);
    await a.change({ addresses: ['10.9.9.9'] });
    assert.deepEqual(addresses((await moved).server), ['10.9.9.9 registry']);

    const bye = next(watcher, 'down', id('a'), 2000);
    const stopped = performance.now();
    await a.goodbye();
    const gone = await bye;
    assert.equal(gone.reason, 'goodbye');
    assert.ok(gone.at - stopped < 1000);

    const upB = next(watcher, 'up', id('b'), 2000); // before the put: the watch may be faster
    const b = await records.put({ instanceId: 'b' });
    await upB;
    const deleted = next(watcher, 'down', id('b'), 2000);
    await b.revoke();
    assert.equal((await deleted).reason, 'expired');

    const upC = next(watcher, 'up', id('c'), 2000);
    const c = await records.put({ instanceId: 'c' }, { ttlSeconds: 2 });
    await upC;
    const expired = next(watcher, 'down', id('c'), 6000);
    const silent = performance.now();
    c.lease.release(); // no more keepalives: etcd deletes it at the end of its TTL
    const late = await expired;
    assert.equal(late.reason, 'expired');
    assert.ok(late.at - silent < 2000 + 2500, `down ${Math.round(late.at - silent)} ms after`);
    assert.deepEqual(events, [
      'up first',
      'up a',
      'update a',
      'update a',
      'down a goodbye',
      'up b',
      'down b expired',
      'up c',
      'down c expired',
    ]);
  });

  it('a server still in the registry stays up when its LAN lease runs out', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const watcher = watching({ ...LOCAL, port, announcePort, registry: etcd.url });
    const events = record(watcher);
    await sleep(700);
    const announce = await rawAnnouncer(announcePort);
    const both = next(watcher, 'update', id('m-1'), 3000);
    announce('m-1', 1000);
    await sleep(100);
    const entry = await records.put({ instanceId: 'm-1', service: 'svc', addresses: ['10.9.9.9'] });
    assert.deepEqual(addresses((await both).server), ['127.0.0.1 broadcast', '10.9.9.9 registry']);
    // The LAN lease (1 s, plus 0.5 s) runs out: the registry still holds it.
    const lanLost = await next(watcher, 'update', id('m-1'), 3000);
    assert.deepEqual(addresses(lanLost.server), ['10.9.9.9 registry']);
    assert.equal(lanLost.server.via, 'registry');
    await sleep(500);
    assert.equal(watcher.servers.length, 1);
    // Then the registry loses it too: down.
    const down = next(watcher, 'down', id('m-1'), 2000);
    await entry.revoke();
    assert.equal((await down).reason, 'expired');
    assert.deepEqual(events, ['up m-1', 'update m-1', 'update m-1', 'down m-1 expired']);
  });

  it('a server still heard on the LAN stays up when its record is deleted', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    const responder = await start({ instanceId: 'l-1', service: 'svc', httpPort: 8080 });
    const announcePort = responder.port - 1;
    const entry = await records.put({ instanceId: 'l-1', service: 'svc', addresses: ['10.9.9.9'] });
    const watcher = watching({
      ...LOCAL,
      family: 'IPv4',
      port: responder.port,
      announcePort,
      registry: etcd.url,
    });
    const events = record(watcher);
    await next(watcher, 'up', id('l-1'), 3000);
    await sleep(300); // both paths have answered
    assert.deepEqual(addresses(watcher.servers[0] as Server).sort(), [
      '10.9.9.9 registry',
      '127.0.0.1 broadcast',
    ]);
    const update = next(watcher, 'update', id('l-1'), 2000);
    await entry.revoke();
    assert.deepEqual(addresses((await update).server), ['127.0.0.1 broadcast']);
    await sleep(1000);
    assert.equal(watcher.servers.length, 1);
    const down = next(watcher, 'down', id('l-1'), 2000);
    await responder.stop();
    assert.equal((await down).reason, 'goodbye');
    assert.ok(!events.some((e) => e.startsWith('down') && !e.endsWith('goodbye')), events.join());
  });

  it('etcd down at start: a warning, the LAN part as usual, the registry followed once it is up', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    await etcd.stop();
    const responder = await start({ instanceId: 'lan-only', service: 'svc' });
    const logger = recordingLogger();
    const watcher = watching({
      ...LOCAL,
      family: 'IPv4',
      port: responder.port,
      announcePort: responder.port - 1,
      registry: etcd.url,
      logger,
    });
    await next(watcher, 'up', id('lan-only'), 3000);
    await until(() => logger.warnings.some((w) => w.includes('unreachable')), 10_000);
    await etcd.restart();
    const records = recordWriter(t, etcd);
    const up = next(watcher, 'up', id('late'), 15_000);
    await records.put({ instanceId: 'late', addresses: ['10.9.9.9'] });
    assert.equal((await up).server.via, 'registry');
    assert.equal(watcher.servers.length, 2);
    assert.equal(logger.warnings.filter((w) => w.includes('unreachable')).length, 1);
  });

  it('etcd restarted: a warning, servers kept meanwhile, nothing lost', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    await records.put({ instanceId: 'r-1' }, { ttlSeconds: 20 });
    const logger = recordingLogger();
    const watcher = watching({ broadcast: false, registry: etcd.url, logger });
    const events = record(watcher);
    await next(watcher, 'up', id('r-1'), 3000);
    await etcd.stop();
    await until(() => logger.warnings.some((w) => w.includes('unreachable')), 10_000);
    await etcd.restart();
    await until(() => logger.warnings.some((w) => w.includes('reachable again')), 15_000);
    await sleep(300);
    assert.deepEqual(events, ['up r-1']);
    assert.equal(logger.warnings.filter((w) => w.includes('unreachable')).length, 1);
  });

  it('a long outage: a server known only through the registry goes after its lease, and comes back', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const connection = await connectEtcd(t, etcd);
    // As a responder registers: held under a 2 s lease, written again when etcd is back.
    const key = recordKey('beckon/', undefined, 'o-1'); // the default prefix
    const value = encodeRecord(key, {
      instanceId: 'o-1',
      scheme: 'http',
      port: 8080,
      addresses: ['127.0.0.1'],
      lease: 2000,
    });
    const holding = connection.hold([{ key, value }], { ttlSeconds: 2, state: () => {} });
    t.after(() => holding.release());
    const logger = recordingLogger();
    const watcher = watching({ broadcast: false, registry: etcd.url, logger });
    await next(watcher, 'up', id('o-1'), 5000);
    const down = next(watcher, 'down', id('o-1'), 8000);
    const stopped = performance.now();
    await etcd.stop();
    const gone = await down;
    assert.equal(gone.reason, 'expired');
    const after = gone.at - stopped;
    assert.ok(after > 1500 && after < 2000 + 1000 + 3000, `down ${Math.round(after)} ms after`);
    const back = next(watcher, 'up', id('o-1'), 20_000);
    await etcd.restart();
    assert.equal((await back).server.via, 'registry');
  });
});

async function until(test: () => boolean, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms`);
    await sleep(50);
  }
}
