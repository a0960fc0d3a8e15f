/**
 * Announcements, goodbyes and refresh answers (docs/presence.md), real sockets on loopback:
 * with `joinGroups: false` a responder announces on loopback only, to 127.255.255.255.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import * as extended from '../../src/protocol/extended.js';
import { type AnnounceLink, Announcer } from '../../src/responder/announcer.js';
import type { Service } from '../../src/responder/services.js';
import { trackResponders } from '../helpers/responders.js';
import { exchange, freeUdpPort, sleep } from '../helpers/udp.js';

const start = trackResponders();
const KEY = 'announce-test-key-0123456789';

/** A watcher's socket on the announcement port: SO_REUSEADDR, as watchers bind it. */
async function listen(port: number) {
  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: true });
  const heard: { announcement: extended.Decoded<extended.ExtendedAnnouncement>; at: number }[] = [];
  socket.on('message', (message) => {
    const announcement = extended.decodeAnnouncement(message);
    if (announcement) heard.push({ announcement, at: performance.now() });
  });
  socket.bind(port, '0.0.0.0');
  await once(socket, 'listening');
  after(() => socket.close());
  return heard;
}

const request = (options: { known?: Buffer[]; presencePort?: number; key?: string } = {}) =>
  extended.encodeRequest(
    {
      nonce: randomBytes(extended.NONCE_SIZE),
      timestamp: Date.now(),
      known: options.known,
      presencePort: options.presencePort,
    },
    options.key === undefined ? undefined : Buffer.from(options.key),
  );

describe('announcements', () => {
  it('announces three times at start, to every watcher on the host, and says goodbye on stop', async () => {
    const announcePort = await freeUdpPort();
    const [first, second] = [await listen(announcePort), await listen(announcePort)];
    const began = performance.now();
    const responder = await start({ httpPort: 8080, service: 'orders', announcePort });
    const id = responder.settings.metadata.instanceId;
    await sleep(2400);
    for (const heard of [first, second]) {
      assert.equal(heard.length, 3, 'three announcements, heard by both watchers');
      for (const { announcement } of heard) {
        assert.equal(announcement.lease, 15_000);
        assert.equal(announcement.metadata.instanceId, id);
        assert.equal(announcement.metadata.service, 'orders');
        assert.equal(announcement.address, '127.0.0.1');
        assert.equal(announcement.port, 8080);
        assert.equal(announcement.authenticated, false);
      }
      const times = heard.map(({ at }) => Math.round(at - began));
      assert.ok((times[0] ?? Infinity) < 500, `first at once, not ${times[0]} ms`);
      assert.ok((times[2] ?? 0) - (times[0] ?? 0) >= 1900, `spread over 2 s: ${times}`);
    }
    await responder.stop();
    await sleep(100);
    const goodbyes = first.slice(3);
    assert.equal(goodbyes.length, 2, 'a goodbye, twice');
    for (const { announcement } of goodbyes) {
      assert.equal(announcement.lease, 0);
      assert.equal(announcement.metadata.instanceId, id);
    }
  });

  it('announce: false sends nothing unasked, and its answers carry no lease', async () => {
    const announcePort = await freeUdpPort();
    const heard = await listen(announcePort);
    const quiet = await start({ announce: false, announcePort });
    const [answer] = await exchange(quiet.port, [request()]);
    assert.ok(answer);
    assert.equal(extended.decodeAnswer(answer)?.lease, undefined);
    await quiet.stop();
    await sleep(200);
    assert.equal(heard.length, 0);
    const loud = await start({ lease: 5000, announcePort });
    const [leased] = await exchange(loud.port, [request()]);
    assert.equal(leased && extended.decodeAnswer(leased)?.lease, 5000);
  });

  it('a keyed responder signs its announcements and goodbyes', async () => {
    const announcePort = await freeUdpPort();
    const heard = await listen(announcePort);
    const responder = await start({ authKeys: [KEY], announcePort });
    await sleep(100);
    await responder.stop();
    await sleep(100);
    assert.deepEqual(
      heard.map(({ announcement }) => announcement.lease),
      [15_000, 0, 0],
    );
    for (const { announcement } of heard) {
      assert.ok(extended.verifyTag(announcement, [Buffer.from(KEY)]), 'signed with its key');
      assert.ok(!extended.verifyTag(announcement, [Buffer.from(`${KEY}-other`)]));
    }
  });

  it('answers a refresh query by an announcement to the watcher port, at most once in 200 ms', async () => {
    const announcePort = await freeUdpPort();
    const watcherPort = await freeUdpPort();
    const heard = await listen(watcherPort);
    const responder = await start({ httpPort: 8080, announcePort });
    // Two queries back to back (a watcher's IPv4 broadcast and group): one announcement.
    const asks = [request({ presencePort: watcherPort }), request({ presencePort: watcherPort })];
    const replies = await exchange(responder.port, asks, 150);
    assert.equal(replies.length, 0, 'no unicast answer: the link heard an announcement');
    assert.equal(heard.length, 1);
    assert.equal(heard[0]?.announcement.lease, 15_000);
    await sleep(100);
    await exchange(responder.port, [request({ presencePort: watcherPort })], 200);
    assert.equal(heard.length, 2, 'a retry 250 ms later is answered');
  });

  it('stays silent for a watcher that lists it as known', async () => {
    const responder = await start({ httpPort: 8080, service: 'orders' });
    const drops: string[] = [];
    responder.on('drop', ({ reason }) => drops.push(reason));
    const id = extended.knownId(responder.settings.metadata.instanceId);
    const other = extended.knownId('someone-else');
    assert.equal((await exchange(responder.port, [request({ known: [other, id] })])).length, 0);
    assert.deepEqual(drops, ['known-answer']);
    assert.equal((await exchange(responder.port, [request({ known: [other] })])).length, 1);
  });

  it('the answering process announces the host records it can sign, a keyed one announces itself, goodbyes for both', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const heard = await listen(announcePort);
    await start({ port, httpPort: 8001, service: 'orders', announcePort });
    const users = await start({ port, httpPort: 8002, service: 'users', announcePort });
    const keyed = await start({
      port,
      httpPort: 8003,
      service: 'secret',
      authKeys: [KEY],
      announcePort,
    });
    assert.equal(users.role, 'registered');
    assert.equal(keyed.role, 'registered');
    await sleep(2300);
    const services = (lease: number) =>
      heard
        .filter(({ announcement }) => announcement.lease === lease)
        .map(({ announcement }) => announcement.metadata.service);
    assert.equal(services(15_000).filter((s) => s === 'users').length, 3);
    assert.equal(services(15_000).filter((s) => s === 'orders').length, 3);
    // The keyed one's key is in its own process: it announces itself, signed.
    const secret = heard.filter(({ announcement }) => announcement.metadata.service === 'secret');
    assert.equal(secret.length, 3);
    for (const { announcement } of secret) {
      assert.ok(extended.verifyTag(announcement, [Buffer.from(KEY)]));
    }
    await users.stop();
    await sleep(200);
    assert.deepEqual(services(0), ['users', 'users'], 'its goodbye, sent for it');
    await keyed.stop();
    await sleep(200);
    assert.deepEqual(services(0), ['users', 'users', 'secret', 'secret'], 'and its own');
  });

  it('answers a refresh asked over IPv4 and IPv6 at once with one announcement', async () => {
    // A watcher's refresh goes out on both families; two answers would double the traffic.
    const sent: string[] = [];
    const links: AnnounceLink[] = [
      { name: 'eth0', family: 'IPv4', local: '10.0.0.2', destination: '10.0.0.255' },
      { name: 'eth0', family: 'IPv6', local: 'fe80::2%eth0', destination: 'ff02::1%eth0' },
      { name: 'eth1', family: 'IPv4', local: '10.1.0.2', destination: '10.1.0.255' },
    ];
    const service: Service = {
      metadata: { instanceId: 'one', values: {} },
      httpPort: 8080,
      keys: [],
      delegated: false,
      serviceAddress: undefined,
      fixedAddress: undefined,
      advertised: false,
      addressKey: 'one',
      knownId: '00',
      offLink: 'private',
    };
    const announcer = new Announcer({
      lease: 15_000,
      port: 9998,
      clock: { now: () => Date.now() },
      hooks: {
        send: (_datagram, link, port) => sent.push(`${link.family} ${link.name} ${port}`),
        addressOn: (_service, link) => link.local,
      },
    });
    after(() => announcer.stop());
    announcer.update(links, [service]);
    sent.length = 0; // the start announcements
    assert.equal(announcer.refresh(service, 'eth0', 'IPv4', 5000), true);
    assert.equal(announcer.refresh(service, 'eth0', 'IPv6', 5000), true);
    assert.equal(announcer.refresh(service, 'eth1', 'IPv4', 5000), true);
    assert.deepEqual(sent, ['IPv4 eth0 5000', 'IPv4 eth1 5000'], 'one per interface');
    await sleep(250);
    assert.equal(announcer.refresh(service, 'eth0', 'IPv6', 5000), true);
    assert.deepEqual(sent.slice(2), ['IPv6 eth0 5000'], 'again 200 ms later');
  });
});
