/**
 * watch() on loopback (docs/presence.md): real responders and raw peers; the lab proves the
 * same across a network, with SIGKILL and loss.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { type DownReason, discover, type Server, type Watcher, watch } from '../../src/index.js';
import * as extended from '../../src/protocol/extended.js';
import { trackResponders } from '../helpers/responders.js';
import { freeUdpPort, LOCAL, sleep } from '../helpers/udp.js';

const start = trackResponders();

/** A watcher on loopback only, closed after the test. */
function watching(port: number, announcePort: number, options = {}): Watcher {
  const watcher = watch({ ...LOCAL, port, announcePort, timeout: 500, ...options });
  after(() => watcher.close());
  return watcher;
}

/**
 * Resolves with the first `type` event matching `test` (and when it came), or rejects after `ms`.
 * For `up`, an `update` counts too: a plain reply may come first, the name with the next answer.
 */
function next(
  watcher: Watcher,
  type: 'up' | 'down' | 'update',
  test: (server: Server) => boolean,
  ms: number,
): Promise<{ server: Server; reason: DownReason | undefined; at: number }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${ms} ms`)), ms);
    const types = type === 'up' ? (['up', 'update'] as const) : ([type] as const);
    const listener = (server: Server, reason?: DownReason) => {
      if (!test(server)) return;
      clearTimeout(timer);
      for (const t of types) watcher.off(t, listener);
      resolve({ server, reason, at: performance.now() });
    };
    for (const t of types) watcher.on(t, listener);
  });
}

const named = (service: string) => (server: Server) => server.metadata?.service === service;

/** A raw peer on 127.0.0.1 that can announce, as a server that then dies without a word. */
async function rawServer(announcePort: number) {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  socket.setBroadcast(true);
  after(() => socket.close());
  const announce = (service: string, lease: number, instanceId = `raw-${service}`) =>
    socket.send(
      extended.encodeAnnouncement({
        nonce: randomBytes(extended.NONCE_SIZE),
        timestamp: Date.now(),
        address: '127.0.0.1',
        port: 8080,
        metadata: { instanceId, service, values: {} },
        lease,
      }),
      announcePort,
      '127.255.255.255',
    );
  return { socket, announce };
}

describe('watch()', () => {
  it('sees a server that starts later at once, and its graceful stop within 0.5 s', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const watcher = watching(port, announcePort);
    await sleep(700); // past the first sweep: only the announcement can find it
    const up = next(watcher, 'up', named('orders'), 1500);
    const started = performance.now();
    const responder = await start({ port, announcePort, httpPort: 8080, service: 'orders' });
    const { server, at } = await up;
    assert.equal(server.url, 'http://127.0.0.1:8080');
    assert.ok(at - started < 1500, `up after ${Math.round(at - started)} ms`);
    assert.equal(watcher.servers.length, 1);
    const down = next(watcher, 'down', named('orders'), 1000);
    const stopped = performance.now();
    await responder.stop();
    const gone = await down;
    assert.equal(gone.reason, 'goodbye');
    assert.ok(gone.at - stopped < 500, `down after ${Math.round(gone.at - stopped)} ms`);
    assert.equal(watcher.servers.length, 0);
  });

  it('finds what is there at once, and keeps a live server through several leases', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    await start({ port, announcePort, httpPort: 8080, service: 'orders', lease: 1000 });
    await sleep(2200); // its start announcements are over
    const watcher = watching(port, announcePort);
    const downs: string[] = [];
    watcher.on('down', (_server, reason) => downs.push(reason));
    // Asked in plain mode, it answers the plain request first; its up waits for its name.
    const [up] = await once(watcher, 'up');
    assert.equal(up.metadata?.service, 'orders');
    await sleep(4000); // four leases: kept by refresh queries, answered by announcements
    assert.deepEqual(downs, []);
    assert.equal(watcher.servers.length, 1);
  });

  it('a server that dies without a goodbye is down at the end of its lease (plus at most 1 s)', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const watcher = watching(port, announcePort);
    await sleep(600);
    const raw = await rawServer(announcePort);
    const up = next(watcher, 'up', named('ghost'), 1000);
    raw.announce('ghost', 1000);
    const { at: heard } = await up;
    const down = await next(watcher, 'down', named('ghost'), 3000);
    assert.equal(down.reason, 'expired');
    const after = down.at - heard;
    assert.ok(after >= 1000 && after <= 2000, `down ${Math.round(after)} ms after last heard`);
  });

  it('believes an unsigned goodbye only from the server, and only once a check goes unanswered', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    await start({ port, announcePort, httpPort: 8080, service: 'orders' });
    const watcher = watching(port, announcePort);
    const { server } = await next(watcher, 'up', named('orders'), 1000);
    const downs: string[] = [];
    watcher.on('down', (_server, reason) => downs.push(reason));
    const forged = extended.encodeAnnouncement({
      nonce: randomBytes(extended.NONCE_SIZE),
      timestamp: Date.now(),
      address: '127.0.0.1',
      port: 8080,
      metadata: server.metadata ?? { instanceId: '?', values: {} },
      lease: 0,
    });
    for (const from of ['127.0.0.2', '127.0.0.1']) {
      const socket = createSocket('udp4');
      socket.bind(0, from);
      await once(socket, 'listening');
      socket.setBroadcast(true);
      socket.send(forged, announcePort, '127.255.255.255');
      await sleep(600);
      socket.close();
    }
    assert.deepEqual(downs, [], 'the live server answered the check');
    assert.equal(watcher.servers.length, 1);
  });

  it('polls an original server and gives it up after 3 missed polls', async () => {
    const port = await freeUdpPort();
    const original = createSocket('udp4');
    original.on('message', (message, remote) => {
      if (String(message) === 'DISCOVER_SERVER') {
        original.send('SERVER_IP:127.0.0.1:8000', remote.port, remote.address);
      }
    });
    original.bind(port, '0.0.0.0');
    await once(original, 'listening');
    const watcher = watching(port, await freeUdpPort(), { pollInterval: 1000 });
    const { server } = await next(watcher, 'up', (s) => s.port === 8000, 1000);
    assert.equal(server.metadata, undefined);
    await sleep(2500);
    assert.equal(watcher.servers.length, 1, 'answering its polls');
    const closed = performance.now();
    original.close();
    const down = await next(watcher, 'down', (s) => s.port === 8000, 6000);
    assert.equal(down.reason, 'expired');
    assert.ok(down.at - closed >= 2000, 'not before it missed its polls');
  });

  it('iterates: an up for each server there, then events; close ends it and frees the sockets', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    await start({ port, announcePort, httpPort: 8080, service: 'a' });
    // Extended only: every answer names its server, so that the first event is its `up`.
    const watcher = watching(port, announcePort, { extended: true });
    await next(watcher, 'up', named('a'), 1000);
    const seen: string[] = [];
    const iteration = (async () => {
      for await (const event of watcher) {
        if (event.type === 'update') continue; // its IPv6 address joining, say
        seen.push(`${event.type} ${event.server.metadata?.service}`);
        if (seen.length === 2) await watcher.close();
      }
    })();
    await start({ port: 0, announcePort, httpPort: 8081, service: 'b' });
    await iteration;
    assert.deepEqual(seen, ['up a', 'up b']);
    assert.equal(watcher.closed, true);
    // Its announcement socket is closed: the port can be bound without SO_REUSEADDR.
    const probe = createSocket('udp4');
    probe.bind(announcePort, '0.0.0.0');
    await once(probe, 'listening');
    probe.close();
  });

  it('a flood of forged and malformed announcements is bounded, crashes nothing, and expires', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const watcher = watching(port, announcePort, { maxResults: 20 });
    await sleep(600);
    const raw = await rawServer(announcePort);
    for (let i = 0; i < 500; i++) {
      raw.announce('forged', 1000, `forged-${i}`);
      raw.socket.send(randomBytes(1 + (i % 300)), announcePort, '127.255.255.255');
      if (i % 50 === 0) await sleep(5); // let the socket drain: the kernel buffer is finite
    }
    for (let i = 0; i < 100; i++) raw.announce('forged', 0, `unknown-${i}`); // goodbyes
    await sleep(300);
    assert.ok(watcher.servers.length <= 20, `${watcher.servers.length} tracked, cap 20`);
    assert.ok(watcher.servers.length > 0, 'forged but well-formed: believed, up to the cap');
    assert.equal(watcher.closed, false);
    // Nobody answers for them: gone after their 1 s lease (plus the grace).
    await sleep(2000);
    assert.equal(watcher.servers.length, 0);
    // And the watcher still works.
    const up = next(watcher, 'up', named('real'), 1500);
    await start({ port, announcePort, httpPort: 8080, service: 'real' });
    await up;
  });

  it('memory stays flat under forged announcements and goodbyes from forty addresses', async (t) => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const watcher = watching(port, announcePort, { maxResults: 50 });
    await sleep(600);
    const sockets = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const socket = createSocket('udp4');
        socket.bind(0, `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`);
        await once(socket, 'listening');
        socket.setBroadcast(true);
        after(() => socket.close());
        return { socket, address: socket.address().address };
      }),
    );
    const flood = async (rounds: number) => {
      for (let round = 0; round < rounds; round++) {
        for (const { socket, address } of sockets) {
          const forged = (lease: number) =>
            extended.encodeAnnouncement({
              nonce: randomBytes(extended.NONCE_SIZE),
              timestamp: Date.now(),
              address,
              port: 8080,
              metadata: { instanceId: randomBytes(8).toString('hex'), values: {} },
              lease,
            });
          socket.send(forged(60_000), announcePort, '127.255.255.255');
          socket.send(forged(0), announcePort, '127.255.255.255');
          socket.send(randomBytes(64), announcePort, '127.255.255.255');
        }
        await sleep(2);
      }
    };
    await flood(25); // 3,000 datagrams: warm up
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    await flood(250); // 30,000 more, from 40 addresses
    await sleep(200);
    global.gc?.();
    const grown = process.memoryUsage().heapUsed - before;
    assert.ok(watcher.servers.length <= 50, `${watcher.servers.length} tracked, cap 50`);
    assert.equal(watcher.closed, false);
    t.diagnostic(`heap grew ${Math.round(grown / 1024)} KiB over 30,000 datagrams`);
    assert.ok(grown < 32 * 1024 * 1024, `heap grew ${Math.round(grown / 1024)} KiB`);
  });

  it('discover() also hears announcements: a server that starts after its last request is found', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const began = performance.now();
    const run = discover({ ...LOCAL, port, announcePort, timeout: 2800 });
    await sleep(2000); // past the last re-send (1.7 s with the default 5 retries)
    await start({ port, announcePort, httpPort: 8080, service: 'late' });
    const servers = await run;
    assert.deepEqual(
      servers.map((s) => s.metadata?.service),
      ['late'],
    );
    assert.ok(performance.now() - began < 3500);
  });

  it("the caller's signal closes it like close(): no error, sockets freed", async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const controller = new AbortController();
    const watcher = watching(port, announcePort, { signal: controller.signal });
    const errors: unknown[] = [];
    watcher.on('error', (error) => errors.push(error));
    await sleep(300);
    controller.abort();
    await sleep(100);
    assert.equal(watcher.closed, true);
    assert.deepEqual(errors, []);
    const probe = createSocket('udp4');
    probe.bind(announcePort, '0.0.0.0');
    await once(probe, 'listening');
    probe.close();
  });

  it('refuses bad options at once, naming them', () => {
    assert.throws(() => watch({ ...LOCAL, pollInterval: 10 }), /pollInterval/);
    assert.throws(() => watch({ ...LOCAL, announcePort: 70000 }), /announcePort/);
    assert.throws(
      () => watch({ ...LOCAL, interfacePollInterval: 5 }),
      /interfacePollInterval.*whole milliseconds from 100 to 3600000, or 0 for never/,
    );
  });
});
