/**
 * Several responders on one port of one host (docs/many-services.md), in this process: the
 * first answers for all over the host channel, real sockets on loopback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { channelPath } from '../../src/host/channel.js';
import { HostLimits } from '../../src/host/records.js';
import { HostRegistry } from '../../src/host/registry.js';
import { type HostChannelTransport, netHostChannel } from '../../src/host/transport.js';
import { BindError, createResponder, InvalidOptionError, type Responder } from '../../src/index.js';
import * as extended from '../../src/protocol/extended.js';
import { trackResponders } from '../helpers/responders.js';
import { ask, exchange, freeUdpPort, sleep } from '../helpers/udp.js';

const start = trackResponders();
const KEY = 'host-share-test-key-0123456789';

const request = (service?: string, key?: string) =>
  extended.encodeRequest(
    { nonce: randomBytes(extended.NONCE_SIZE), timestamp: Date.now(), service },
    key === undefined ? undefined : Buffer.from(key),
  );

/** The instance ids and ports of the extended answers to one request. */
async function answers(port: number, datagram: Buffer): Promise<string[]> {
  const replies = await exchange(port, [datagram], 250);
  return replies
    .map((reply) => extended.decodeAnswer(reply))
    .map((answer) => `${answer?.metadata.service}:${answer?.port}`)
    .sort();
}

/** {@link ask}, from a socket whose receive buffer holds hundreds of replies at once. */
async function askWide(port: number): Promise<string[]> {
  const { createSocket } = await import('node:dgram');
  const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  const received: string[] = [];
  socket.on('message', (message) => received.push(String(message)));
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  socket.send('DISCOVER_SERVER', port, '127.0.0.1');
  await sleep(300);
  socket.close();
  return received;
}

async function pair(port: number): Promise<[Responder, Responder]> {
  const first = await start({ port, httpPort: 8001, service: 'orders' });
  const second = await start({ port, httpPort: 8002, service: 'users' });
  return [first, second];
}

describe('host sharing', () => {
  it('the second responder registers and the first answers for both', async () => {
    const port = await freeUdpPort();
    const [first, second] = await pair(port);
    assert.equal(first.role, 'answering');
    assert.equal(second.role, 'registered');
    assert.equal(second.listening, true);
    assert.equal(second.port, port);
    await sleep(50); // the registration is acknowledged before start() resolves; be safe anyway
    assert.deepEqual((await ask(port, 'DISCOVER_SERVER', 250)).sort(), [
      'SERVER_IP:127.0.0.1:8001',
      'SERVER_IP:127.0.0.1:8002',
    ]);
    assert.deepEqual(await answers(port, request()), ['orders:8001', 'users:8002']);
    assert.deepEqual(await answers(port, request('users')), ['users:8002']);
  });

  it('a plain request gets one reply per distinct address and HTTP port', async () => {
    const port = await freeUdpPort();
    await start({ port, httpPort: 8001, service: 'orders' });
    await start({ port, httpPort: 8001, service: 'orders-admin' });
    assert.deepEqual(await ask(port, 'DISCOVER_SERVER', 250), ['SERVER_IP:127.0.0.1:8001']);
    assert.deepEqual(await answers(port, request()), ['orders-admin:8001', 'orders:8001']);
  });

  it('identical records (workers of one app) count once', async () => {
    const port = await freeUdpPort();
    for (let i = 0; i < 4; i++) await start({ port, httpPort: 8001, service: 'orders' });
    await start({ port, httpPort: 8002, service: 'users' });
    assert.deepEqual(await answers(port, request()), ['orders:8001', 'users:8002']);
  });

  it('a keyed service is invisible to plain and unsigned requests', async () => {
    const port = await freeUdpPort();
    await start({ port, httpPort: 8001, service: 'open' });
    const keyed = await start({ port, httpPort: 8002, service: 'secret', authKeys: [KEY] });
    assert.equal(keyed.role, 'registered');
    assert.deepEqual(await ask(port, 'DISCOVER_SERVER', 250), ['SERVER_IP:127.0.0.1:8001']);
    assert.deepEqual(await answers(port, request()), ['open:8001']);
    assert.deepEqual(await answers(port, request(undefined, KEY)), ['secret:8002']);
    const other = 'another-key-0123456789abcdef';
    assert.deepEqual(await answers(port, request(undefined, other)), []);
  });

  it('keys never leave their process, and it signs only for this host and only fresh requests', async () => {
    const { createSocket } = await import('node:dgram');
    // A process that holds the port and the channel, as a squatter could: what can it get?
    const holder = createSocket('udp4');
    holder.bind({ port: 0, address: '0.0.0.0', exclusive: true });
    await once(holder, 'listening');
    const port = holder.address().port;
    const registry = new HostRegistry({ path: channelPath(port) });
    await registry.listen();
    try {
      const keyed = await start({ port, httpPort: 8002, service: 'secret', authKeys: [KEY] });
      assert.equal(keyed.role, 'registered');
      const [record] = registry.records;
      assert.ok(record);
      assert.equal(record.keyed, true);
      assert.ok(!JSON.stringify(record).includes(KEY));
      const id = record.instanceId;
      const signed = request(undefined, KEY);
      const answer = await registry.forward(id, signed, '127.0.0.1');
      const decoded = answer && extended.decodeAnswer(answer);
      assert.ok(decoded, 'a request signed with its key is answered');
      assert.equal(decoded.address, '127.0.0.1');
      assert.ok(extended.verifyTag(decoded, [Buffer.from(KEY)]));
      assert.equal(await registry.forward(id, signed, '127.0.0.1'), undefined, 'a replay');
      assert.equal(
        await registry.forward(id, request(undefined, KEY), '203.0.113.9'),
        undefined,
        'an address that is not this host',
      );
      const other = request(undefined, 'another-key-0123456789abcdef');
      assert.equal(await registry.forward(id, other, '127.0.0.1'), undefined, 'another key');
      assert.equal(await registry.forward(id, request(), '127.0.0.1'), undefined, 'unsigned');
      assert.equal(
        await registry.forward('nobody', request(undefined, KEY), '127.0.0.1'),
        undefined,
      );
    } finally {
      await registry.close();
      holder.close();
    }
  });

  it('a keyed answering process still answers open services for plain requests', async () => {
    const port = await freeUdpPort();
    await start({ port, httpPort: 8002, service: 'secret', authKeys: [KEY] });
    await start({ port, httpPort: 8001, service: 'open' });
    assert.deepEqual(await ask(port, 'DISCOVER_SERVER', 250), ['SERVER_IP:127.0.0.1:8001']);
    assert.deepEqual(await answers(port, request(undefined, KEY)), ['secret:8002']);
  });

  it('a graceful stop of a registered responder removes its record at once', async () => {
    const port = await freeUdpPort();
    const [, second] = await pair(port);
    await second.stop();
    assert.equal(second.role, undefined);
    assert.deepEqual(await answers(port, request()), ['orders:8001']);
  });

  it('when the answering responder stops, a registered one takes over within 1 s', async () => {
    const port = await freeUdpPort();
    const [first, second] = await pair(port);
    const third = await start({ port, httpPort: 8003, service: 'billing' });
    const roles: string[] = [];
    for (const responder of [second, third]) {
      responder.on('role', ({ role }) => roles.push(role));
    }
    const stopped = performance.now();
    await first.stop();
    const deadline = stopped + 3000;
    let found: string[] = [];
    while (performance.now() < deadline) {
      found = await answers(port, request());
      if (found.length === 2) break;
    }
    const took = performance.now() - stopped;
    assert.deepEqual(found, ['billing:8003', 'users:8002']);
    assert.deepEqual(roles.sort(), ['answering', 'registered']);
    assert.ok(took < 1500, `answered again after ${Math.round(took)} ms`);
    assert.equal([second, third].filter((r) => r.role === 'answering').length, 1);
  });

  it('a responder started again registers again', async () => {
    const port = await freeUdpPort();
    const [, second] = await pair(port);
    await second.stop();
    await second.start();
    assert.equal(second.role, 'registered');
    assert.deepEqual(await answers(port, request()), ['orders:8001', 'users:8002']);
  });

  it('registrants that flood the channel cannot stop the answers, and the host is bounded', async () => {
    const port = await freeUdpPort();
    const answering = await start({ port, httpPort: 8001, service: 'orders' });
    const warnings: string[] = [];
    answering.on('warning', (error) => warnings.push(error.message));
    const sockets: Socket[] = [];
    try {
      // 40 clients registering 16 records each: far past the 256 the host keeps.
      for (let c = 0; c < 40; c++) {
        const socket = createConnection(channelPath(port));
        socket.on('error', () => {});
        socket.on('data', () => {}); // read the acknowledgements
        sockets.push(socket);
        const lines = [];
        for (let r = 0; r < HostLimits.recordsPerConnection; r++) {
          const record = {
            instanceId: `c${c}r${r}`,
            service: `s${c}-${r}`,
            httpPort: 10000 + c * 16 + r,
            pid: 1,
          };
          lines.push(JSON.stringify({ op: 'register', record }));
        }
        socket.write(`${lines.join('\n')}\n`);
      }
      // And one that streams junk with no newline: cut off at 8 KiB.
      const junk = createConnection(channelPath(port));
      junk.on('error', () => {});
      junk.on('data', () => {});
      const junkClosed = once(junk, 'close');
      sockets.push(junk);
      junk.write('x'.repeat(256 * 1024));
      let replies: string[] = [];
      const deadline = performance.now() + 5000;
      while (performance.now() < deadline) {
        replies = await askWide(port);
        if (replies.length > HostLimits.recordsPerHost) break;
      }
      // Its own service and at most the 256 registered ones, each with its own HTTP port.
      assert.ok(replies.includes('SERVER_IP:127.0.0.1:8001'), `${replies.length} replies`);
      assert.equal(replies.length, HostLimits.recordsPerHost + 1);
      await Promise.race([junkClosed, sleep(3000)]);
      assert.equal(junk.closed, true, 'the junk stream was not cut off');
    } finally {
      for (const socket of sockets) socket.destroy();
    }
    await sleep(100);
    assert.deepEqual(await ask(port, 'DISCOVER_SERVER', 250), ['SERVER_IP:127.0.0.1:8001']);
  });

  it('shareHost: false fails on a taken port, as before', async () => {
    const port = await freeUdpPort();
    await start({ port, httpPort: 8001 });
    await assert.rejects(start({ port, httpPort: 8002, shareHost: false }), BindError);
  });

  it('a port held by something that is not beckon still fails the start', async () => {
    const { createSocket } = await import('node:dgram');
    const holder = createSocket('udp4');
    holder.bind({ port: 0, address: '0.0.0.0', exclusive: true });
    await once(holder, 'listening');
    try {
      await assert.rejects(
        start({ port: holder.address().port, httpPort: 8001 }),
        (error: unknown) => error instanceof BindError && /in use|taken/i.test(error.message),
      );
    } finally {
      holder.close();
    }
  });

  it('a channel that never acknowledges does not hang start()', async () => {
    const { createSocket } = await import('node:dgram');
    const { createServer } = await import('node:net');
    const holder = createSocket('udp4');
    holder.bind({ port: 0, address: '0.0.0.0', exclusive: true });
    await once(holder, 'listening');
    const port = holder.address().port;
    const mute = createServer((socket) => socket.on('data', () => {})); // reads, never answers
    mute.listen(channelPath(port));
    await once(mute, 'listening');
    try {
      const began = performance.now();
      await assert.rejects(start({ port, httpPort: 8001 }), BindError);
      assert.ok(performance.now() - began < 5000);
    } finally {
      mute.close();
      holder.close();
    }
  });

  it('does not share in Fernet mode or with a custom message', async () => {
    const port = await freeUdpPort();
    await start({ port, httpPort: 8001 });
    await assert.rejects(start({ port, httpPort: 8002, message: 'HELLO_THERE_SERVER' }), BindError);
  });

  it('the hostChannel option carries the channel; anything but a transport is refused', async () => {
    const port = await freeUdpPort();
    const calls: string[] = [];
    const hostChannel: HostChannelTransport = {
      listen: (path, onConnection, onError) => {
        calls.push(`listen ${path === channelPath(port)}`);
        return netHostChannel.listen(path, onConnection, onError);
      },
      connect: (path) => {
        calls.push(`connect ${path === channelPath(port)}`);
        return netHostChannel.connect(path);
      },
    };
    await start({ port, httpPort: 8001, service: 'orders', hostChannel });
    const second = await start({ port, httpPort: 8002, service: 'users', hostChannel });
    assert.equal(second.role, 'registered');
    assert.deepEqual(calls, ['listen true', 'connect true']);
    assert.deepEqual(await answers(port, request()), ['orders:8001', 'users:8002']);
    for (const bad of [{}, { listen: () => {} }, 'net', null]) {
      assert.throws(
        () => createResponder({ env: {}, hostChannel: bad as unknown as HostChannelTransport }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidOptionError, String(error));
          assert.equal(error.option, 'hostChannel');
          assert.match(error.message, /listen\(path, onConnection, onError\) and connect\(path\)/);
          return true;
        },
      );
    }
  });
});
