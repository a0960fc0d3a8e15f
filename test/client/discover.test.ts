import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterEach, describe, it } from 'node:test';
import { retrySchedule } from '../../src/client/schedule.js';
import {
  createResponder,
  type DiscoverOptions,
  discover,
  discoverOne,
  discoverStream,
  type Responder,
} from '../../src/index.js';
import { LOCAL, sleep, udpPeer } from '../helpers/udp.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0)) await task();
});

async function responder(options: Parameters<typeof createResponder>[0] = {}) {
  const r: Responder = createResponder({
    joinGroups: false,
    port: 0,
    env: {},
    rateLimit: 0,
    ...options,
  });
  await r.start();
  cleanup.push(() => r.stop());
  return r.port ?? 0;
}

/** A fake server that answers each request through `answer` (undefined: stay silent). */
async function fakeServer(
  answer: (count: number, remote: RemoteInfo) => string | undefined,
  address = '0.0.0.0', // a socket bound to one address does not receive broadcasts
) {
  let count = 0;
  const peer = await udpPeer((_message, remote, socket) => {
    const reply = answer(++count, remote);
    if (reply !== undefined) socket.send(reply, remote.port, remote.address);
  }, address);
  cleanup.push(() => peer.close());
  return { port: peer.port, requests: () => count };
}

describe('discover', () => {
  it('finds a responder by directed broadcast on the chosen interface', async () => {
    const port = await responder({ httpPort: 8080 });
    const servers = await discover({ ...LOCAL, port, timeout: 300 });
    assert.equal(servers.length, 1);
    const [server] = servers;
    assert.equal(server?.ip, '127.0.0.1');
    assert.equal(server?.port, 8080);
    assert.equal(server?.url, 'http://127.0.0.1:8080');
    assert.equal(server?.source, '127.0.0.1');
    assert.equal(server?.sourcePort, port);
    assert.equal(server?.interface, 'lo');
    assert.equal(server?.raw, 'SERVER_IP:127.0.0.1:8080');
    assert.equal(server?.foreign, false);
    assert.ok(typeof server?.rttMs === 'number' && server.rttMs >= 0);
  });

  it('reports each server once although every retry is answered', async () => {
    const server = await fakeServer(() => 'SERVER_IP:127.0.0.1:80');
    const servers = await discover({ ...LOCAL, port: server.port, timeout: 800, retries: 4 });
    assert.ok(server.requests() >= 4, `only ${server.requests()} requests were sent`);
    assert.equal(servers.length, 1);
  });

  it('finds several servers through unicast targets', async () => {
    const a = await responder({ bindAddress: '127.0.0.2', httpPort: 1001 });
    await responder({ bindAddress: '127.0.0.3', port: a, httpPort: 1002 });
    const servers = await discover({
      env: {},
      broadcast: false,
      targets: ['127.0.0.2', '127.0.0.3/32'],
      port: a,
      timeout: 300,
    });
    assert.deepEqual(servers.map((s) => `${s.url} ${s.interface} ${s.via}`).sort(), [
      'http://127.0.0.2:1001 lo target', // tagged with the interface of the route to the target
      'http://127.0.0.3:1002 lo target',
    ]);
    assert.deepEqual(
      servers.flatMap((s) => s.addresses.map((a) => a.via)),
      ['target', 'target'],
    );
  });

  it('assumes port 8000 when a reply has none, like the original', async () => {
    const server = await fakeServer(() => 'SERVER_IP:127.0.0.1');
    const [found] = await discover({ ...LOCAL, port: server.port, timeout: 200 });
    assert.equal(found?.port, 8000);
  });

  it('drops replies claiming another address unless told to accept them (then marks them)', async () => {
    const server = await fakeServer(() => 'SERVER_IP:10.66.0.1:80');
    assert.deepEqual(await discover({ ...LOCAL, port: server.port, timeout: 200 }), []);
    const [found] = await discover({
      ...LOCAL,
      port: server.port,
      timeout: 200,
      acceptForeignAddresses: true,
    });
    assert.equal(found?.ip, '10.66.0.1');
    assert.equal(found?.source, '127.0.0.1');
    assert.equal(found?.foreign, true);
  });

  it('ignores malformed replies and keeps the valid ones', async () => {
    const replies = [
      'garbage',
      'SERVER_IP:',
      'SERVER_IP:1.2.3:80',
      'SERVER_IP:127.0.0.1:99999',
      'SERVER_IP:127.0.0.1:81',
    ];
    const server = await fakeServer((n) => replies[n - 1]);
    const servers = await discover({ ...LOCAL, port: server.port, timeout: 1500, retries: 6 });
    assert.deepEqual(
      servers.map((s) => s.port),
      [81],
    );
  });

  it('retries so that lost requests do not lose the server', async () => {
    const server = await fakeServer((n) => (n >= 3 ? 'SERVER_IP:127.0.0.1:80' : undefined));
    const withRetries = await discover({ ...LOCAL, port: server.port, timeout: 1000, retries: 4 });
    assert.equal(withRetries.length, 1);
    const silent = await fakeServer((n) => (n >= 3 ? 'SERVER_IP:127.0.0.1:80' : undefined));
    const withoutRetries = await discover({
      ...LOCAL,
      port: silent.port,
      timeout: 500,
      retries: 0,
    });
    assert.deepEqual(withoutRetries, []);
    // One round: the plain request and, on loopback (no multicast), the extended one.
    assert.equal(silent.requests(), 2);
  });

  it('ends at the deadline under a steady stream of junk (the original never ended)', async () => {
    const clients = new Set<number>();
    const server = await fakeServer((_n, remote) => {
      clients.add(remote.port);
      return undefined;
    });
    const junk = await udpPeer();
    cleanup.push(() => junk.close());
    let flooding = true;
    const flood = (async () => {
      const stopAt = Date.now() + 3000; // bounded even if the test fails
      while (flooding && Date.now() < stopAt) {
        for (const port of clients) junk.socket.send('not a reply', port, '127.0.0.1');
        await sleep(1);
      }
    })();
    const started = performance.now();
    const servers = await discover({ ...LOCAL, port: server.port, timeout: 400 });
    const elapsed = performance.now() - started;
    flooding = false;
    await flood;
    assert.ok(junk.socket.address().port > 0 && clients.size > 0, 'the client was flooded');
    assert.deepEqual(servers, []);
    assert.ok(elapsed < 1500, `discover took ${Math.round(elapsed)} ms with a 400 ms deadline`);
  });

  it('stops after maxResults servers', async () => {
    let n = 0;
    const server = await fakeServer(() => `SERVER_IP:127.0.0.1:${1000 + n++}`);
    const servers = await discover({
      ...LOCAL,
      port: server.port,
      timeout: 3000,
      retries: 10,
      maxResults: 3,
    });
    assert.equal(servers.length, 3);
  });

  it('resolves at once when nothing can be sent', async () => {
    const started = performance.now();
    assert.deepEqual(await discover({ env: {}, interfaces: ['no-such-if0'], timeout: 5000 }), []);
    assert.ok(performance.now() - started < 1000);
  });
});

describe('discoverOne', () => {
  it('resolves on the first reply instead of waiting for the deadline', async () => {
    const port = await responder({ httpPort: 5000 });
    const started = performance.now();
    const server = await discoverOne({ ...LOCAL, port, timeout: 5000 });
    assert.equal(server?.url, 'http://127.0.0.1:5000');
    assert.ok(performance.now() - started < 2500, 'waited for the deadline');
  });

  it('resolves undefined when nobody answers', async () => {
    const server = await fakeServer(() => undefined);
    assert.equal(await discoverOne({ ...LOCAL, port: server.port, timeout: 200 }), undefined);
  });
});

describe('discoverStream', () => {
  it('yields servers as they come and ends at the deadline', async () => {
    const port = await responder({ httpPort: 1234 });
    const seen: string[] = [];
    for await (const server of discoverStream({ ...LOCAL, port, timeout: 300 }))
      seen.push(server.url);
    assert.deepEqual(seen, ['http://127.0.0.1:1234']);
  });
});

describe('cleanup', () => {
  it('closes its sockets at the deadline even when the consumer abandons the iterator', async () => {
    const server = await fakeServer(() => 'SERVER_IP:127.0.0.1:80');
    const sockets: Socket[] = [];
    const stream = discoverStream({
      ...LOCAL,
      port: server.port,
      timeout: 300,
      socketFactory: (options) => {
        const socket = createSocket(options);
        sockets.push(socket);
        return socket;
      },
    });
    await stream.next(); // take one result, then never call next() or return() again
    await sleep(500);
    assert.ok(sockets.length > 0);
    for (const socket of sockets) {
      assert.throws(() => socket.address(), /Not running/, 'socket still open after the deadline');
    }
  });
});

describe('abort', () => {
  it('rejects with the signal reason mid-discovery', async () => {
    const server = await fakeServer(() => undefined);
    const reason = new Error('user gave up');
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 100);
    const started = performance.now();
    await assert.rejects(
      discover({ ...LOCAL, port: server.port, timeout: 5000, signal: controller.signal }),
      reason,
    );
    assert.ok(performance.now() - started < 2000);
  });

  it('rejects at once when already aborted', async () => {
    const reason = new Error('already');
    await assert.rejects(discoverOne({ ...LOCAL, signal: AbortSignal.abort(reason) }), reason);
  });
});

describe('client settings', () => {
  it('reads the original environment names; options win', async () => {
    const port = await responder({ httpPort: 4242, message: 'PING_SERVER', prefix: 'PONG:' });
    const env = {
      DISCOVERY_CLIENT_PORT: String(port),
      DISCOVERY_CLIENT_MESSAGE: 'PING_SERVER',
      DISCOVERY_CLIENT_RESPONSE_PREFIX: 'PONG:',
      DISCOVERY_CLIENT_TIMEOUT: '0.3',
      DISCOVERY_CLIENT_INTERFACES_WHITELIST: 'lo, eth-none',
    };
    const [found] = await discover({ env });
    assert.equal(found?.port, 4242);
    assert.deepEqual(await discover({ env, message: 'OTHER' }), []);
  });

  it('reads the blacklist from the environment', async () => {
    const port = await responder();
    const env = {
      DISCOVERY_CLIENT_INTERFACES_WHITELIST: 'lo',
      DISCOVERY_CLIENT_INTERFACES_BLACKLIST: 'lo',
    };
    assert.deepEqual(await discover({ env, port, timeout: 200 }), []);
  });

  const invalid: [string, DiscoverOptions, RegExp][] = [
    ['timeout', { timeout: -1 }, /Invalid timeout: -1 \(expected milliseconds, greater than 0/],
    ['huge timeout', { timeout: 3e9 }, /Invalid timeout: 3000000000/],
    ['retries', { retries: 1.5 }, /Invalid retries: 1.5 \(expected an integer from 0 to 100\)/],
    ['port', { port: 70000 }, /Invalid port: 70000/],
    [
      'targets',
      { targets: ['10.0.0.0/8'] },
      /Invalid targets: "10.0.0.0\/8" \(expected .*CIDR of at most 1024/,
    ],
    ['interfaces', { interfaces: ['10.0.0.0/99'] }, /Invalid interfaces: "10.0.0.0\/99"/],
    ['maxResults', { maxResults: 0 }, /Invalid maxResults: 0/],
    [
      'DISCOVERY_CLIENT_TIMEOUT',
      { env: { DISCOVERY_CLIENT_TIMEOUT: '-2' } },
      /Invalid DISCOVERY_CLIENT_TIMEOUT: "-2"/,
    ],
    [
      'DISCOVERY_CLIENT_PORT',
      { env: { DISCOVERY_CLIENT_PORT: '99999' } },
      /Invalid DISCOVERY_CLIENT_PORT: "99999"/,
    ],
    [
      'DISCOVERY_CLIENT_RETRIES',
      { env: { DISCOVERY_CLIENT_RETRIES: 'x' } },
      /Invalid DISCOVERY_CLIENT_RETRIES: "x"/,
    ],
  ];
  for (const [name, options, message] of invalid) {
    it(`throws synchronously for an invalid ${name}`, () => {
      assert.throws(() => discover({ ...LOCAL, ...options }), message);
    });
  }
});

describe('retry schedule', () => {
  it('backs off and stays inside the deadline', () => {
    assert.deepEqual(retrySchedule(4, 2000), [0, 100, 300, 700, 1200]);
    assert.deepEqual(retrySchedule(10, 2000), [0, 100, 300, 700, 1200, 1700]);
    assert.deepEqual(retrySchedule(0, 2000), [0]);
    assert.deepEqual(retrySchedule(3, 250), [0, 100]);
  });
});
