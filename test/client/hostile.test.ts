/**
 * Hostile responders against the client: garbage, oversized datagrams, invalid and spoofed
 * addresses, floods of duplicates and of distinct replies, control characters, and in extended
 * mode wrong nonces, forged tags, unsigned answers and replays. The client must never throw,
 * return only valid servers, never more than maxResults, and keep its memory bounded.
 * Everything stays on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { RemoteInfo } from 'node:dgram';
import { afterEach, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { discover, discoverOne, discoverStream, type Server } from '../../src/client/discover.js';
import type { DiscoverOptions } from '../../src/client/options.js';
import { MAX_ADDRESSES_PER_SERVER } from '../../src/client/table.js';
import type { Logger } from '../../src/logger.js';
import { formatIPv4, parseIPv4 } from '../../src/network/ipv4.js';
import * as extended from '../../src/protocol/extended.js';
import { LOCAL, sleep, udpPeer } from '../helpers/udp.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  for (let i = 0; i < 4; i++) gc();
  return process.memoryUsage().heapUsed;
};
const MB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;

const KEY = 'a-key-of-at-least-16-bytes';
const KEY_BYTES = Buffer.from(KEY);
const OTHER_KEY = Buffer.from('another-key-of-at-least-16-bytes');
const UNSAFE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0)) await task();
});

type Reply = (message: Buffer | string) => void;

/**
 * A fake responder on 127.0.0.1 that answers each request through `answer` (which may send any
 * number of datagrams, and may be async). It records the requests; the sending tasks are
 * awaited before it closes.
 */
async function hostile(answer: (request: Buffer, reply: Reply, count: number) => unknown) {
  const state = { port: 0, requests: [] as Buffer[], sent: 0, errors: [] as unknown[] };
  const tasks: Promise<unknown>[] = [];
  const peer = await udpPeer((message: Buffer, remote: RemoteInfo, socket) => {
    state.requests.push(message);
    const reply: Reply = (datagram) => {
      state.sent++;
      socket.send(datagram, remote.port, remote.address);
    };
    tasks.push(
      Promise.resolve()
        .then(() => answer(message, reply, state.requests.length))
        .catch((error: unknown) => state.errors.push(error)),
    );
  });
  state.port = peer.port;
  cleanup.push(async () => {
    await Promise.all(tasks);
    peer.close();
  });
  return state;
}

/** Sends `count` datagrams made by `make`, pausing every 50, for at most `limitMs`. */
async function paced(
  count: number,
  make: (i: number) => Buffer | string,
  reply: Reply,
  limitMs = 5000,
) {
  const stopAt = performance.now() + limitMs;
  for (let i = 0; i < count && performance.now() < stopAt; i++) {
    reply(make(i));
    if (i % 50 === 49) await sleep(1);
  }
}

/** Options that talk to one fake responder on 127.0.0.1 only. */
const at = (port: number, options: DiscoverOptions = {}): DiscoverOptions => ({
  ...LOCAL,
  broadcast: false,
  targets: ['127.0.0.1'],
  port,
  timeout: 600,
  ...options,
});

/** A logger that counts what the client ignored (one line per ignored reply). */
function countingLogger() {
  const counts = { debug: 0, warn: 0, other: 0 };
  const logger: Logger = {
    debug: () => counts.debug++,
    info: () => counts.other++,
    warn: () => counts.warn++,
    error: () => counts.other++,
  };
  return { logger, counts };
}

const junk = () => randomBytes(Math.floor(Math.random() * 1500));

/** Every field of a server is valid, whatever the responder sent. */
function assertValid(
  server: Server,
  expect: { port: number; mode: Server['protocol']; authenticated?: boolean; foreign?: boolean },
): void {
  const ip = parseIPv4(server.ip);
  assert.notEqual(ip, undefined, `ip ${JSON.stringify(server.ip)}`);
  assert.equal(formatIPv4(ip ?? 0), server.ip);
  assert.ok(Number.isInteger(server.port) && server.port >= 1 && server.port <= 65535);
  const scheme = server.metadata?.scheme ?? 'http';
  assert.match(scheme, extended.SCHEME);
  assert.equal(server.url, `${scheme}://${server.ip}:${server.port}`);
  assert.equal(server.source, '127.0.0.1');
  assert.equal(server.sourcePort, expect.port);
  assert.equal(server.interface, 'lo');
  assert.ok(Number.isFinite(server.rttMs) && server.rttMs >= 0, `rtt ${server.rttMs}`);
  assert.equal(typeof server.raw, 'string');
  assert.equal(server.foreign, server.ip !== server.source);
  if (!expect.foreign) assert.equal(server.foreign, false);
  assert.equal(server.protocol, expect.mode);
  assert.equal(server.authenticated, expect.authenticated ?? false);
  if (expect.mode !== 'extended') {
    assert.equal(server.metadata, undefined);
    return;
  }
  const m = server.metadata;
  assert.ok(m, 'no metadata');
  const text = (value: string | undefined, max: number, allowEmpty = false) => {
    if (value === undefined) return;
    assert.ok(Buffer.byteLength(value) <= max && (allowEmpty || value.length > 0));
    assert.ok(!UNSAFE.test(value), `unsafe text ${JSON.stringify(value)}`);
  };
  assert.equal(typeof m.instanceId, 'string');
  text(m.instanceId, extended.Limits.text);
  text(m.name, extended.Limits.text);
  text(m.service, extended.Limits.text);
  text(m.version, extended.Limits.version);
  text(m.scheme, extended.Limits.scheme);
  const entries = Object.entries(m.values);
  assert.ok(entries.length <= extended.Limits.values);
  for (const [k, v] of entries) {
    text(k, extended.Limits.valueKey);
    text(v, extended.Limits.valueText, true);
  }
}

async function collect(stream: AsyncGenerator<Server, void>): Promise<Server[]> {
  const servers: Server[] = [];
  for await (const server of stream) servers.push(server);
  return servers;
}

// ---------------------------------------------------------------------------------------------
// Plain mode

const INVALID_PLAIN = [
  'SERVER_IP:999.1.1.1',
  'SERVER_IP:256.0.0.1:80',
  'SERVER_IP:127.0.0.1:0',
  'SERVER_IP:127.0.0.1:65536',
  'SERVER_IP:127.0.0.1:-1',
  'SERVER_IP:127.0.0.1:',
  'SERVER_IP:127.0.0.1:99999999999999999999999',
  'SERVER_IP:127.0.0.1:1e3',
  'SERVER_IP:127.0.0.1:0x50',
  'SERVER_IP:127.0.0.1:80:81',
  'SERVER_IP:',
  'SERVER_IP::80',
  'SERVER_IP: ',
  'SERVER_IP:127.0.0:80',
  'SERVER_IP:127.0.0.1.1:80',
  'SERVER_IP:-127.0.0.1',
  'SERVER_IP:127.0.0.1\ufffd',
  'SERVER_IP:localhost:80',
  'server_ip:127.0.0.1',
  'SERVER_IP 127.0.0.1',
  'SERVER_IP:127.0.0.1:80\x1b[2J',
  'SERVER_IP:\x1b]0;pwned\x07127.0.0.1',
  'SERVER_IP:127.0.0.1\x00:80',
  'SERVER_IP:127.0.0.1:8\u202e0',
  'SERVER_IP:127.0.0.1:80\u0085\u001b',
  '',
  'DISCOVER_SERVER',
];

describe('client against hostile plain responders', () => {
  it('ignores garbage, 60 KB datagrams, invalid addresses and ports, control characters', async () => {
    const fake = await hostile((_request, reply) => {
      for (const text of INVALID_PLAIN) reply(text);
      for (let i = 0; i < 20; i++) reply(junk());
      reply(Buffer.alloc(60_000, 0x41));
      reply(Buffer.concat([Buffer.from('SERVER_IP:127.0.0.1:80'), randomBytes(60_000)]));
      reply(`SERVER_IP:${' '.repeat(60_000)}127.0.0.1`); // the address beyond what is read
      // Whitespace controls around the fields are what Python's strip()/int() skip: accepted,
      // and nothing of them reaches ip, port or url.
      reply('SERVER_IP:\t127.0.0.1 :\r\n8081\x1c');
      reply('SERVER_IP:127.0.0.1:8080');
    });
    const expect = { port: fake.port, mode: 'plain' as const };
    for (const run of [
      () => discover(at(fake.port)),
      () => collect(discoverStream(at(fake.port))),
    ]) {
      const servers = await run();
      for (const server of servers) assertValid(server, expect);
      assert.deepEqual(servers.map((s) => s.url).sort(), [
        'http://127.0.0.1:8080',
        'http://127.0.0.1:8081',
      ]);
      assert.equal(
        servers.find((s) => s.port === 8081)?.raw,
        'SERVER_IP:\t127.0.0.1 :\r\n8081\x1c',
      );
    }
    const one = await discoverOne(at(fake.port, { timeout: 2000 }));
    assert.ok(one);
    assertValid(one, expect);
    assert.equal(fake.errors.length, 0);
  });

  it('drops spoofed addresses, or keeps them marked foreign with acceptForeignAddresses', async () => {
    const spoofed = ['SERVER_IP:10.0.0.1', 'SERVER_IP:192.168.1.1:443', 'SERVER_IP:127.0.0.2:80'];
    const fake = await hostile((_request, reply) => {
      for (const text of spoofed) reply(text);
    });
    const { logger, counts } = countingLogger();
    assert.deepEqual(await discover(at(fake.port, { logger })), []);
    assert.ok(counts.warn >= 3, 'the drops were not reported');
    const servers = await discover(at(fake.port, { acceptForeignAddresses: true }));
    assert.deepEqual(servers.map((s) => `${s.ip}:${s.port}`).sort(), [
      '10.0.0.1:8000',
      '127.0.0.2:80',
      '192.168.1.1:443',
    ]);
    for (const server of servers) {
      assertValid(server, { port: fake.port, mode: 'plain', foreign: true });
      assert.equal(server.foreign, true);
    }
  });

  it('reports thousands of duplicates once', async () => {
    const fake = await hostile((_request, reply, count) =>
      count === 1 ? paced(3000, () => 'SERVER_IP:127.0.0.1:80', reply) : undefined,
    );
    const seen: Server[] = [];
    for await (const server of discoverStream(at(fake.port, { timeout: 1500 }))) seen.push(server);
    assert.equal(seen.length, 1);
    assertValid(seen[0] as Server, { port: fake.port, mode: 'plain' });
    assert.ok(fake.sent >= 3000);
  });

  it('stops at maxResults under thousands of distinct replies', async () => {
    const distinct = (i: number) =>
      `SERVER_IP:10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${1 + (i % 65535)}`;
    const fake = await hostile((_request, reply, count) =>
      count === 1 ? paced(5000, distinct, reply) : undefined,
    );
    const started = performance.now();
    const capped = await discover(
      at(fake.port, { acceptForeignAddresses: true, maxResults: 50, timeout: 5000 }),
    );
    assert.equal(capped.length, 50);
    assert.ok(performance.now() - started < 4000, 'it did not stop at maxResults');
    assert.equal(new Set(capped.map((s) => `${s.ip}:${s.port}`)).size, 50);
    for (const server of capped)
      assertValid(server, { port: fake.port, mode: 'plain', foreign: true });

    // The default cap (1000), through the stream; and own-address replies on distinct ports.
    const again = await hostile((_request, reply, count) =>
      count === 1 ? paced(5000, distinct, reply) : undefined,
    );
    let streamed = 0;
    for await (const server of discoverStream(
      at(again.port, { acceptForeignAddresses: true, timeout: 5000 }),
    )) {
      streamed++;
      assert.equal(server.foreign, true);
    }
    assert.equal(streamed, 1000);

    const ports = await hostile((_request, reply, count) =>
      count === 1 ? paced(3000, (i) => `SERVER_IP:127.0.0.1:${i + 1}`, reply) : undefined,
    );
    const own = await discover(at(ports.port, { maxResults: 100, timeout: 5000 }));
    assert.equal(own.length, 100);
    for (const server of own) assertValid(server, { port: ports.port, mode: 'plain' });
  });

  it('keeps its heap bounded while ~20,000 hostile replies arrive', async (t) => {
    const spoofs = ['SERVER_IP:10.0.0.1:80', 'SERVER_IP:127.0.0.1:0', 'SERVER_IP:999.0.0.1'];
    const unsolicited = extended.encodeAnswer({
      nonce: randomBytes(16),
      timestamp: Date.now(),
      address: '127.0.0.1',
      metadata: { instanceId: 'x', values: {} },
    });
    const make = (i: number): Buffer | string => {
      switch (i % 8) {
        case 0:
          return junk();
        case 1:
          return i % 400 === 1 ? randomBytes(60_000) : randomBytes(64);
        case 2:
          return unsolicited;
        case 3:
          return 'SERVER_IP:127.0.0.1:8080'; // the one real server, over and over
        default:
          return spoofs[i % spoofs.length] ?? '';
      }
    };
    let startFlood: (flood: Promise<unknown>) => void = () => {};
    const flooding = new Promise<Promise<unknown>>((resolve) => {
      startFlood = resolve;
    });
    const fake = await hostile((_request, reply, count) => {
      if (count === 1) startFlood(paced(20_000, make, reply, 3000));
    });
    const { logger, counts } = countingLogger();
    const before = heapAfterGc();
    const started = performance.now();
    const discovery = discover(at(fake.port, { timeout: 4000, retries: 100, logger }));
    await await flooding;
    const floodSeconds = (performance.now() - started) / 1000;
    await sleep(100);
    const during = heapAfterGc(); // discovery still running, everything received held or not
    const servers = await discovery;
    const afterwards = heapAfterGc();
    const ignored = counts.debug + counts.warn;
    t.diagnostic(
      `sent ${fake.sent} replies in ${floodSeconds.toFixed(2)} s; the client ignored ${ignored} (${counts.warn} as foreign); heap after GC ` +
        `${MB(before)} before, ${MB(during)} during (growth ${MB(during - before)}), ${MB(afterwards)} after`,
    );
    assert.ok(fake.sent >= 20_000, `only ${fake.sent} replies were sent`);
    assert.ok(ignored >= 10_000, `only ${ignored} hostile replies reached the client`);
    assert.ok(during - before < 10 * 2 ** 20, `heap grew by ${MB(during - before)}`);
    assert.ok(afterwards - before < 5 * 2 ** 20, `heap kept ${MB(afterwards - before)}`);
    assert.equal(servers.length, 1);
    assertValid(servers[0] as Server, { port: fake.port, mode: 'plain' });
  });
});

// ---------------------------------------------------------------------------------------------
// Extended mode

const META = {
  instanceId: 'fake-1',
  name: 'Fake',
  service: 'shop',
  scheme: 'https',
  version: '1.0.0',
  values: { region: 'eu' },
};

/** The nonce of a request the client sent, checking that it is a proper extended request. */
function nonceOf(request: Buffer, key?: Buffer): Buffer {
  const decoded = extended.decodeRequest(request);
  if (!decoded) throw new Error('the client sent something that is not an extended request');
  if (request.byteLength < extended.MIN_REQUEST_SIZE) throw new Error('a short request');
  if (key && extended.verifyTag(decoded, [key]) !== key) throw new Error('an unsigned request');
  if (!key && decoded.authenticated) throw new Error('a signed request without a key');
  return decoded.nonce;
}

function answer(
  nonce: Buffer,
  fields: Partial<extended.ExtendedAnswer> = {},
  key?: Uint8Array,
): Buffer {
  return extended.encodeAnswer(
    { nonce, timestamp: Date.now(), address: '127.0.0.1', port: 8443, metadata: META, ...fields },
    key,
  );
}

/** Answers that no client should believe, whatever its key. */
function alwaysBad(nonce: Buffer): (Buffer | string)[] {
  return [
    answer(randomBytes(16)), // a nonce it never sent
    answer(randomBytes(16), {}, KEY_BYTES),
    'SERVER_IP:127.0.0.1:80', // a plain reply
    junk(),
    randomBytes(60_000),
    Buffer.concat([answer(nonce), randomBytes(1200)]), // oversized
    answer(nonce).subarray(0, 60), // truncated
    answer(nonce, { metadata: { ...META, name: '\x1b[31mred\x1b[0m' } }),
    answer(nonce, { metadata: { ...META, instanceId: 'abc\u202edef' } }),
    answer(nonce, { metadata: { ...META, values: { 'k\n': 'v' } } }),
    answer(nonce, { metadata: { ...META, scheme: 'HTTP' } }),
    answer(nonce, { address: '10.0.0.1' }), // foreign: dropped without acceptForeignAddresses
    answer(nonce, { port: 0 }),
  ];
}

describe('client against hostile extended responders', () => {
  it('without a key: believes only an unsigned answer echoing its nonce, once', async () => {
    const fake = await hostile((request, reply) => {
      const nonce = nonceOf(request);
      for (const bad of alwaysBad(nonce)) reply(bad);
      reply(answer(nonce, {}, KEY_BYTES)); // signed: this client cannot check it
      reply(answer(nonce));
      reply(answer(nonce)); // the same valid answer twice
    });
    const expect = { port: fake.port, mode: 'extended' as const };
    for (const run of [
      () => discover(at(fake.port, { extended: true })),
      () => collect(discoverStream(at(fake.port, { extended: true }))),
    ]) {
      const servers = await run();
      assert.equal(servers.length, 1);
      const [server] = servers as [Server];
      assertValid(server, expect);
      assert.equal(server.url, 'https://127.0.0.1:8443');
      assert.deepEqual({ ...server.metadata, values: { ...server.metadata?.values } }, META);
    }
    const one = await discoverOne(at(fake.port, { extended: true, timeout: 2000 }));
    assert.ok(one);
    assertValid(one, expect);
    assert.deepEqual(fake.errors, []);
  });

  it('with a key: drops unsigned, forged and wrong-nonce answers; believes the signed one once', async () => {
    const fake = await hostile((request, reply) => {
      const nonce = nonceOf(request, KEY_BYTES);
      for (const bad of alwaysBad(nonce)) reply(bad);
      reply(answer(nonce)); // unsigned
      reply(answer(nonce, {}, OTHER_KEY)); // forged: signed with another key
      const signed = answer(nonce, {}, KEY_BYTES);
      reply(Buffer.concat([signed.subarray(0, -32), randomBytes(32)])); // made-up tag
      const unflagged = Buffer.from(signed);
      unflagged[8] = 0; // AUTH flag cleared, tag left as trailing bytes
      reply(unflagged);
      reply(answer(randomBytes(16), {}, KEY_BYTES)); // signed, but not its nonce
      reply(signed);
      reply(signed); // twice
    });
    const options = at(fake.port, { authKey: KEY });
    const servers = await discover(options);
    assert.equal(servers.length, 1);
    assertValid(servers[0] as Server, { port: fake.port, mode: 'extended', authenticated: true });
    const one = await discoverOne({ ...options, timeout: 2000 });
    assert.ok(one);
    assertValid(one, { port: fake.port, mode: 'extended', authenticated: true });
    assert.deepEqual(fake.errors, []);

    // Only forgeries: nothing at all.
    const forger = await hostile((request, reply) => {
      const nonce = nonceOf(request, KEY_BYTES);
      for (const bad of alwaysBad(nonce)) reply(bad);
      reply(answer(nonce));
      reply(answer(nonce, {}, OTHER_KEY));
    });
    assert.deepEqual(await discover(at(forger.port, { authKey: KEY })), []);
    assert.ok(forger.requests.length >= 2);
    assert.deepEqual(forger.errors, []);
  });

  it('drops an answer captured in an earlier discovery and replayed into a new one', async () => {
    for (const key of [undefined, KEY]) {
      const keyBytes = key === undefined ? undefined : KEY_BYTES;
      const captured: Buffer[] = [];
      const honest = await hostile((request, reply) => {
        const datagram = answer(nonceOf(request, keyBytes), {}, keyBytes);
        captured.push(datagram);
        reply(datagram);
      });
      const options = { extended: true, ...(key === undefined ? {} : { authKey: key }) };
      const first = await discover(at(honest.port, options));
      assert.equal(first.length, 1, 'the honest run found nothing');
      assert.ok(captured.length >= 2);

      const replayer = await hostile((request, reply) => {
        nonceOf(request, keyBytes);
        for (const datagram of captured) reply(datagram);
      });
      const { logger, counts } = countingLogger();
      assert.deepEqual(await discover(at(replayer.port, { ...options, logger })), []);
      assert.ok(replayer.sent >= captured.length, 'nothing was replayed');
      assert.ok(counts.debug >= captured.length, 'the replays were not seen');
      assert.deepEqual([...honest.errors, ...replayer.errors], []);
    }
  });

  it('stops at maxResults under thousands of distinct answers echoing its nonce', async () => {
    const fake = await hostile((request, reply, count) => {
      const nonce = nonceOf(request);
      if (count !== 1) return;
      return paced(
        3000,
        (i) =>
          answer(nonce, {
            address: `10.1.${(i >> 8) & 255}.${i & 255}`,
            port: 1 + i,
            metadata: { ...META, instanceId: `forged-${i}` },
          }),
        reply,
      );
    });
    const servers = await discover(
      at(fake.port, {
        extended: true,
        acceptForeignAddresses: true,
        maxResults: 25,
        timeout: 4000,
      }),
    );
    assert.equal(servers.length, 25);
    assert.equal(new Set(servers.map((s) => `${s.ip}:${s.port}`)).size, 25);
    for (const server of servers) {
      assertValid(server, { port: fake.port, mode: 'extended', foreign: true });
      assert.equal(server.foreign, true);
    }
    assert.deepEqual(fake.errors, []);
  });

  it('keeps at most 16 addresses for one instance id, however many paths claim it', async () => {
    const fake = await hostile((request, reply, count) => {
      const nonce = nonceOf(request);
      if (count !== 1) return;
      return paced(
        2000,
        (i) => answer(nonce, { address: `10.2.${(i >> 8) & 255}.${i & 255}` }),
        reply,
      );
    });
    const servers = await discover(
      at(fake.port, { extended: true, acceptForeignAddresses: true, timeout: 3000 }),
    );
    assert.equal(servers.length, 1);
    assert.equal(servers[0]?.addresses.length, MAX_ADDRESSES_PER_SERVER);
    assert.deepEqual(fake.errors, []);
  });
});
