/**
 * A bounded flood of junk and near-miss datagrams against a responder running in a child
 * process (test/responder/fixtures/flood-responder.ts), from thousands of source addresses in
 * 127.0.0.0/8, and over IPv6 from ::1 to its IPv6 socket (random bytes, truncated, oversized
 * and odd-valued extended requests). Afterwards the responder must be alive, answer at once,
 * hold no more heap than a stated bound, and have reported no uncaught error and no warning.
 * Loopback only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as extended from '../../src/protocol/extended.js';
import { LabProcess } from '../helpers/process.js';
import { sleep, udpPeer } from '../helpers/udp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = fileURLToPath(new URL('./fixtures/flood-responder.ts', import.meta.url));

/** Datagrams per mode (a bound), and the time a mode's flood may take (another bound). */
const TARGET = 100_000;
const TIME_LIMIT_MS = 60_000;
/** Heap growth allowed across the flood, after GC. */
const HEAP_GROWTH_LIMIT = 20 * 2 ** 20;
/** Datagrams from one source address before the next one takes over. */
const PER_SOURCE = 20;
/** Sends between two waits for the responder to catch up. */
const PACE_EVERY = 250;
/** Never used by the flood: the rate limiter knows nothing about them. */
const CHECK_SOURCES = ['127.0.0.200', '127.0.0.201'];

const KEY = 'a-key-of-at-least-16-bytes';
const KEY_BYTES = Buffer.from(KEY);
const OTHER_KEY = Buffer.from('another-key-of-at-least-16-bytes');
const REQUEST = Buffer.from('DISCOVER_SERVER');
const MB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MB`;

interface Memory {
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}
interface Stats {
  received: number;
  replies: number;
  largestReply: number;
  drops: Record<string, number>;
  listening: boolean;
  loggedWarnings: number;
  logged: string[];
}
type Line = { type: string; [key: string]: unknown };

/** The fixture process, with its JSON-lines protocol. */
class FloodResponder {
  readonly process: LabProcess;
  port = 0;
  #id = 0;

  private constructor(options: object, ipv6: boolean) {
    this.process = new LabProcess(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', FIXTURE, JSON.stringify(options), ipv6 ? 'ipv6' : ''],
      { cwd: ROOT },
    );
  }

  static async start(options: object, ipv6 = false): Promise<FloodResponder> {
    const responder = new FloodResponder(options, ipv6);
    running.add(responder);
    const [, port] = await responder.process.waitFor(
      /^\{"type":"listening","port":(\d+)\}$/m,
      30_000,
    );
    responder.port = Number(port);
    return responder;
  }

  async command<T>(cmd: 'mem' | 'stats'): Promise<T> {
    const id = ++this.#id;
    this.process.child.stdin?.write(`${JSON.stringify({ id, cmd })}\n`);
    const [line] = await this.process.waitFor(
      new RegExp(`^\\{"type":"${cmd}","id":${id},.*\\}$`, 'm'),
      15_000,
    );
    return JSON.parse(line) as T;
  }

  /** Output lines of the given types (warnings, uncaught errors, fatal problems). */
  lines(...types: string[]): Line[] {
    return this.process.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Line)
      .filter((line) => types.includes(line.type));
  }

  get alive(): boolean {
    return !this.process.done;
  }

  /** Closes its stdin (it stops and exits); SIGKILL after 5 s. */
  async close(): Promise<{ status: number | null; signal: NodeJS.Signals | null }> {
    running.delete(this);
    this.process.child.stdin?.end();
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    const result = await this.process.exited;
    clearTimeout(timer);
    return result;
  }
}

const running = new Set<FloodResponder>();
after(async () => {
  await Promise.all([...running].map((r) => r.close()));
});

// ---------------------------------------------------------------------------------------------
// What is sent

const POOL = randomBytes(1 << 17);
const rand = (n: number) => Math.floor(Math.random() * n);
/** `length` random bytes (a slice of a random pool: cheap, and never modified). */
const junk = (length: number) => {
  const at = rand(POOL.byteLength - length + 1);
  return POOL.subarray(at, at + length);
};

const extendedRequest = (key?: Uint8Array, timestamp = Date.now()) =>
  extended.encodeRequest({ nonce: randomBytes(extended.NONCE_SIZE), timestamp }, key);

/** `DISCOVER_SERVER`, nearly: one byte changed, added or missing, another case, truncated. */
function nearMissPlain(): Buffer {
  const request = Buffer.from(REQUEST);
  const at = rand(request.byteLength);
  switch (rand(7)) {
    case 0:
      request[at] = ((request[at] ?? 0) + 1 + rand(255)) & 0xff;
      return request;
    case 1:
      return Buffer.concat([request, Buffer.of(rand(256))]);
    case 2:
      return Buffer.concat([Buffer.of(rand(256)), request]);
    case 3:
      return Buffer.concat([request.subarray(0, at), request.subarray(at + 1)]);
    case 4: {
      const letters = [...'DISCOVER_SERVER'].map((ch) =>
        Math.random() < 0.3 ? ch.toLowerCase() : ch,
      );
      letters[at === 8 ? 0 : at] = letters[at === 8 ? 0 : at]?.toLowerCase() ?? 'd'; // one at least
      return Buffer.from(letters.join(''));
    }
    case 5:
      return Buffer.from(
        [
          'DISCOVER_SERVER\n',
          'DISCOVER_SERVER\r\n',
          ' DISCOVER_SERVER',
          'DISCOVER_SERVER\0',
          'DISCOVER SERVER',
          'SERVER_IP:127.0.0.1',
        ][rand(6)] ?? '',
      );
    default:
      return request.subarray(0, rand(request.byteLength)); // truncated, maybe empty
  }
}

/** Extended requests that must not be answered: broken fields, wrong flags, short, mis-signed. */
function nearMissExtended(): Buffer {
  const valid = extendedRequest();
  const changed = Buffer.from(valid);
  switch (rand(10)) {
    case 0: // valid header, then junk where the fields go
      return Buffer.concat([valid.subarray(0, 34), junk(222 + rand(900))]);
    case 1: // unknown flag bits
      changed[8] = ((1 + rand(127)) << 1) | rand(2);
      return changed;
    case 2: // another version
      changed[6] = [0, 2, 255][rand(3)] ?? 0;
      return changed;
    case 3: // an answer's kind
      changed[7] = 0x41;
      return changed;
    case 4: // reserved byte set
      changed[9] = 1 + rand(255);
      return changed;
    case 5: // truncated
      return valid.subarray(0, rand(valid.byteLength));
    case 6: // well formed but short: not padded to MIN_REQUEST_SIZE
      return Buffer.concat([
        valid.subarray(0, 34),
        Buffer.of(extended.Field.service, 4),
        Buffer.from('shop'),
      ]);
    case 7: // AUTH flag with a random tag
      changed[8] = 1;
      return Buffer.concat([changed, randomBytes(extended.TAG_SIZE)]);
    case 8: // the padding field's length runs past the end
      changed[35] = 255;
      return changed;
    default: // signed with a key nobody holds
      return extendedRequest(OTHER_KEY);
  }
}

/** Requests an authenticated responder must refuse; `replayed` was answered once already. */
function forged(replayed: Buffer): Buffer {
  switch (rand(6)) {
    case 0: // unsigned
      return extendedRequest();
    case 1: {
      // the right shape, a made-up tag
      const signed = extendedRequest(KEY_BYTES);
      return Buffer.concat([
        signed.subarray(0, -extended.TAG_SIZE),
        randomBytes(extended.TAG_SIZE),
      ]);
    }
    case 2:
      return extendedRequest(OTHER_KEY);
    case 3: // signed with the key, but ten minutes old
      return extendedRequest(KEY_BYTES, Date.now() - 600_000);
    case 4:
      return replayed;
    default:
      return REQUEST;
  }
}

/** A request header (valid unless changed by the caller) followed by `fields`, as given. */
function withFields(fields: Buffer[], timestamp = BigInt(Date.now())): Buffer {
  const header = Buffer.from(extendedRequest().subarray(0, 34));
  header.writeBigUInt64BE(timestamp, 26);
  return Buffer.concat([header, ...fields]);
}
const tlv = (type: number, value: Buffer) =>
  Buffer.concat([Buffer.of(type, value.byteLength), value]);
const padding = (bytes: number) => tlv(extended.Field.padding, Buffer.alloc(bytes));

/** Extended requests whose fields carry odd values, sent over IPv6; most must be refused. */
function oddExtended(): Buffer {
  switch (rand(12)) {
    case 0: // a service name with control, bidi and invalid UTF-8 bytes
      return withFields([
        tlv(extended.Field.service, Buffer.from([0x73, 0x00, 0x1b, 0xe2, 0x80, 0xae, 0xff, 0xc0])),
        padding(200),
      ]);
    case 1: // two service fields
      return withFields([
        tlv(extended.Field.service, Buffer.from('a')),
        tlv(extended.Field.service, Buffer.from('b')),
        padding(200),
      ]);
    case 2: // answer-only fields in a request: address6 (16 bytes of junk or ::), address, port
      return withFields([
        tlv(extended.Field.address6, rand(2) ? junk(16) : Buffer.alloc(16)),
        tlv(extended.Field.address, junk(rand(2) ? 4 : 7)),
        tlv(extended.Field.port, junk(rand(3))),
        padding(180),
      ]);
    case 3: // unknown field types with junk
      return withFields(
        Array.from({ length: 1 + rand(8) }, () => tlv(0x19 + rand(0xe7), junk(rand(40)))).concat(
          padding(200),
        ),
      );
    case 4: // timestamps at the ends of the u64 range, or zero
      return withFields([padding(220)], [0n, 2n ** 64n - 1n, 2n ** 63n][rand(3)] ?? 0n);
    case 5: // hundreds of empty fields
      return withFields(Array.from({ length: 300 + rand(300) }, () => padding(0)));
    case 6: // exactly the largest datagram accepted, and one byte more
      return withFields([
        ...Array.from({ length: 4 }, () => padding(255)),
        padding(extended.MAX_DATAGRAM_SIZE - 34 - 4 * 257 - 2 + rand(2)),
      ]);
    case 7: // a field whose length runs past the end
      return Buffer.concat([
        withFields([padding(200)]),
        Buffer.of(extended.Field.service, 200, 0x61),
      ]);
    case 8: // AUTH flag, then a tag that is too short
      return ((request) => {
        request[8] = 1;
        return request.subarray(0, request.byteLength - rand(extended.TAG_SIZE));
      })(withFields([padding(220)]));
    case 9: // truncated at every length, header included
      return ((request) => request.subarray(0, rand(request.byteLength)))(extendedRequest());
    case 10: // a service longer than any name allowed
      return withFields([tlv(extended.Field.service, Buffer.alloc(255, 0x61)), padding(10)]);
    default: // only the magic, or the magic and junk
      return Buffer.concat([extended.MAGIC, junk(rand(1200))]);
  }
}

type Mode = 'plain' | 'authenticated' | 'ipv6';

function datagram(mode: Mode, replayed: Buffer): Buffer {
  const roll = rand(100);
  if (mode === 'ipv6') {
    if (roll < 25) return junk(rand(1501));
    if (roll < 26) return junk(1500 + rand(63_501));
    if (roll < 36) return nearMissPlain(); // and a plain request is no request over IPv6
    if (roll < 56) return nearMissExtended();
    return roll < 97 ? oddExtended() : valid(mode);
  }
  if (roll < 25) return junk(rand(1501)); // random bytes
  if (roll < 26) return junk(1500 + rand(63_501)); // oversized, up to 65,000 bytes
  if (roll < 27) return Buffer.concat([REQUEST, junk(rand(65_000 - REQUEST.byteLength))]);
  if (roll < 47) return nearMissPlain();
  if (roll < 72 || mode === 'plain') return roll < 97 ? nearMissExtended() : valid(mode);
  return roll < 97 ? forged(replayed) : valid(mode);
}

/** A request the responder answers (rarely, so that the per-source caches fill). */
function valid(mode: Mode): Buffer {
  if (mode === 'authenticated') return extendedRequest(KEY_BYTES);
  if (mode === 'ipv6') return extendedRequest(); // the plain format is IPv4 only
  return rand(2) === 0 ? REQUEST : extendedRequest();
}

/** A source address in 127.0.0.0/8 that the final checks do not use. */
function sourceAddress(): string {
  for (;;) {
    const address = `127.${rand(256)}.${rand(256)}.${1 + rand(254)}`;
    if (address !== '127.0.0.1' && !CHECK_SOURCES.includes(address)) return address;
  }
}

interface FloodResult {
  sent: number;
  bytes: number;
  sources: number;
  sendErrors: number;
  seconds: number;
  timedOut: boolean;
}

/**
 * Sends up to `count` datagrams, PER_SOURCE from each of many source addresses (one in 97
 * sources sends a burst of 30 valid requests instead, for the rate limiter), waiting for the
 * responder to catch up every PACE_EVERY datagrams. Stops at `count` or at `timeLimitMs`. In
 * `ipv6` mode every source is [::1] (with a new port) and every datagram goes to [::1].
 */
async function flood(
  responder: FloodResponder,
  mode: Mode,
  count: number,
  timeLimitMs: number,
): Promise<FloodResult> {
  const started = performance.now();
  const deadline = started + timeLimitMs;
  const replayed = extendedRequest(KEY_BYTES);
  const result = { sent: 0, bytes: 0, sources: 0, sendErrors: 0, seconds: 0, timedOut: false };
  let paced = 0;
  while (result.sent < count) {
    if (performance.now() > deadline) {
      result.timedOut = true;
      break;
    }
    const ipv6 = mode === 'ipv6';
    const socket = createSocket(ipv6 ? 'udp6' : 'udp4');
    socket.on('error', () => result.sendErrors++);
    socket.on('message', () => {}); // answers to the few valid requests: read and drop
    socket.bind(0, ipv6 ? '::1' : sourceAddress());
    await once(socket, 'listening');
    result.sources++;
    const burst = result.sources % 97 === 0;
    const n = Math.min(burst ? 30 : PER_SOURCE, count - result.sent);
    let last: Promise<void> = Promise.resolve();
    for (let i = 0; i < n; i++) {
      const message = burst ? valid(mode) : datagram(mode, replayed);
      result.bytes += message.byteLength;
      last = new Promise((resolve) =>
        socket.send(message, responder.port, ipv6 ? '::1' : '127.0.0.1', (error) => {
          if (error) result.sendErrors++;
          resolve();
        }),
      );
      result.sent++;
      if (message.byteLength > 8192) await last; // big ones one at a time
    }
    await last; // sends complete in order: all of this source's are out
    socket.close();
    if (result.sent - paced >= PACE_EVERY) {
      paced = result.sent;
      await catchUp(responder, result.sent, deadline);
    }
  }
  await catchUp(responder, result.sent, deadline + 5000);
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

/** Waits until the responder has handled what was sent, or makes no more progress. */
async function catchUp(responder: FloodResponder, sent: number, deadline: number): Promise<void> {
  let last = -1;
  while (performance.now() < deadline) {
    const { received } = await responder.command<Stats>('stats');
    if (sent - received < 64 || received === last) return;
    last = received;
    await sleep(2);
  }
}

/** The first datagram `socket` receives within `ms`, with its latency. */
async function firstReply(
  socket: Socket,
  send: () => void,
  ms: number,
): Promise<{ message: Buffer; remote: RemoteInfo; ms: number } | undefined> {
  const started = performance.now();
  const reply = once(socket, 'message') as Promise<[Buffer, RemoteInfo]>;
  send();
  const result = await Promise.race([reply, sleep(ms).then(() => undefined)]);
  if (!result) return undefined;
  return { message: result[0], remote: result[1], ms: performance.now() - started };
}

async function run(t: TestContext, mode: Mode, options: object) {
  const responder = await FloodResponder.start(options, mode === 'ipv6');

  // Warm up (code, caches, socket buffers), then take the baseline.
  await flood(responder, mode, 5000, 20_000);
  const before = await responder.command<Memory>('mem');
  const statsBefore = await responder.command<Stats>('stats');

  const result = await flood(responder, mode, TARGET, TIME_LIMIT_MS);
  const stats = await responder.command<Stats>('stats');
  const afterFlood = await responder.command<Memory>('mem');
  const received = stats.received - statsBefore.received;
  const growth = afterFlood.heapUsed - before.heapUsed;

  t.diagnostic(
    `${mode}: sent ${result.sent} datagrams (${MB(result.bytes)}) from ${result.sources} ` +
      `source ${mode === 'ipv6' ? 'ports on ::1' : 'addresses'} in ${result.seconds.toFixed(1)} s (${Math.round(result.sent / result.seconds)}/s); ` +
      `the responder handled ${received} (${((100 * received) / result.sent).toFixed(1)}%), ` +
      `answered ${stats.replies - statsBefore.replies}`,
  );
  t.diagnostic(`${mode}: drops by reason, warm-up included: ${JSON.stringify(stats.drops)}`);
  t.diagnostic(
    `${mode}: heap after GC ${MB(before.heapUsed)} before, ${MB(afterFlood.heapUsed)} after ` +
      `(growth ${MB(growth)}, bound ${MB(HEAP_GROWTH_LIMIT)}); rss ${MB(before.rss)} -> ${MB(afterFlood.rss)}`,
  );

  assert.equal(result.timedOut, false, `only ${result.sent} datagrams in ${TIME_LIMIT_MS} ms`);
  assert.equal(result.sent, TARGET);
  assert.equal(result.sendErrors, 0, 'sending failed');
  assert.ok(
    received >= result.sent * 0.5,
    `the kernel dropped most of the flood: only ${received} of ${result.sent} were handled`,
  );
  assert.ok(responder.alive, 'the responder process died');
  assert.equal(stats.listening, true);
  assert.deepEqual(responder.lines('uncaught', 'fatal'), [], 'uncaught error in the responder');
  // What a flood may make it say: the summary of refused requests (the first at once, then at
  // most one a minute) and, for near-misses with the key but an old time, a clock-skew warning
  // for at most 16 senders a minute. Nothing else, and never a line per datagram.
  const warned = responder.lines('warning');
  assert.deepEqual(
    warned.filter((w) => w.code !== 'BECKON_ERR_CLOCK_SKEW'),
    [],
    'the responder emitted warnings',
  );
  assert.ok(warned.length <= 16, `${warned.length} clock-skew warnings`);
  const summaries = stats.logged.filter((line) => /^\d+ requests? refused/.test(line));
  assert.ok(summaries.length >= 1 && summaries.length <= 3, summaries.join('\n'));
  assert.equal(
    stats.loggedWarnings,
    summaries.length + warned.length,
    `the responder logged other warnings: ${stats.logged.join('\n')}`,
  );
  assert.ok(growth < HEAP_GROWTH_LIMIT, `heap grew by ${MB(growth)}`);
  assert.ok(
    stats.largestReply <= extended.MAX_ANSWER_SIZE,
    `a reply of ${stats.largestReply} bytes`,
  );
  assert.ok((stats.drops['not-a-request'] ?? 0) > result.sent / 4, 'the junk did not arrive');
  assert.ok((stats.drops['rate-limited'] ?? 0) > 0, 'the rate limiter was never reached');
  return responder;
}

/** Uncaught errors, fatal problems and warnings other than the bounded clock-skew ones. */
const unexpectedLines = (responder: FloodResponder) =>
  responder
    .lines('uncaught', 'fatal', 'warning')
    .filter((line) => line.code !== 'BECKON_ERR_CLOCK_SKEW');

describe('responder under a flood', () => {
  it('plain mode: survives 100,000 junk and near-miss datagrams, then answers at once', async (t) => {
    const responder = await run(t, 'plain', {});
    const peer = await udpPeer(undefined, CHECK_SOURCES[0]);
    try {
      const reply = await firstReply(
        peer.socket,
        () => peer.socket.send(REQUEST, responder.port, '127.0.0.1'),
        200,
      );
      assert.ok(reply, 'no answer within 200 ms');
      t.diagnostic(`plain: a fresh requester was answered in ${reply.ms.toFixed(1)} ms`);
      assert.equal(String(reply.message), 'SERVER_IP:127.0.0.1');
      assert.equal(reply.remote.port, responder.port);
    } finally {
      peer.close();
    }
    assert.deepEqual(unexpectedLines(responder), []);
    assert.deepEqual(await responder.close(), { status: 0, signal: null });
  });

  it('authenticated mode: survives 100,000 forged, unsigned and near-miss datagrams', async (t) => {
    const responder = await run(t, 'authenticated', { authKeys: [KEY] });
    const stats = await responder.command<Stats>('stats');
    for (const reason of ['unauthenticated', 'stale', 'replay']) {
      assert.ok(
        (stats.drops[reason] ?? 0) > 100,
        `few drops for ${reason}: ${JSON.stringify(stats.drops)}`,
      );
    }
    const peer = await udpPeer(undefined, CHECK_SOURCES[0]);
    const outsider = await udpPeer(undefined, CHECK_SOURCES[1]);
    try {
      const nonce = randomBytes(extended.NONCE_SIZE);
      const request = extended.encodeRequest({ nonce, timestamp: Date.now() }, KEY_BYTES);
      const reply = await firstReply(
        peer.socket,
        () => peer.socket.send(request, responder.port, '127.0.0.1'),
        200,
      );
      assert.ok(reply, 'no answer within 200 ms');
      t.diagnostic(`authenticated: a fresh requester was answered in ${reply.ms.toFixed(1)} ms`);
      const answer = extended.decodeAnswer(reply.message);
      assert.ok(answer, 'the answer does not decode');
      assert.equal(answer.address, '127.0.0.1');
      assert.deepEqual(answer.nonce, nonce);
      assert.equal(extended.verifyTag(answer, [KEY_BYTES]), KEY_BYTES, 'the answer is not signed');
      // The same request again is a replay, and nobody without the key gets anything.
      const again = await firstReply(
        peer.socket,
        () => peer.socket.send(request, responder.port, '127.0.0.1'),
        150,
      );
      assert.equal(again, undefined, 'a replayed request was answered');
      for (const probe of [REQUEST, extendedRequest(), extendedRequest(OTHER_KEY)]) {
        const answered = await firstReply(
          outsider.socket,
          () => outsider.socket.send(probe, responder.port, '127.0.0.1'),
          100,
        );
        assert.equal(answered, undefined, 'a request without the key was answered');
      }
    } finally {
      peer.close();
      outsider.close();
    }
    assert.deepEqual(unexpectedLines(responder), []);
    assert.deepEqual(await responder.close(), { status: 0, signal: null });
  });

  it('IPv6: survives 100,000 junk, truncated, oversized and odd extended datagrams on ::1', async (t) => {
    const responder = await run(t, 'ipv6', {});
    // Still answering over IPv6: a fresh socket on ::1 (the flood drained the ::1 bucket of the
    // rate limiter, which refills at 20 a second, so it may take a few tries).
    const socket = createSocket('udp6');
    try {
      socket.bind(0, '::1');
      await once(socket, 'listening');
      const nonce = randomBytes(extended.NONCE_SIZE);
      const request = extended.encodeRequest({ nonce, timestamp: Date.now() });
      let reply: Awaited<ReturnType<typeof firstReply>>;
      for (let attempt = 0; attempt < 20 && !reply; attempt++) {
        reply = await firstReply(socket, () => socket.send(request, responder.port, '::1'), 250);
      }
      assert.ok(reply, 'no answer over IPv6 after the flood');
      const answer = extended.decodeAnswer(reply.message);
      assert.equal(answer?.address, '::1');
      assert.deepEqual(answer?.nonce, nonce);
      assert.equal(reply.remote.address, '::1');
    } finally {
      socket.close();
    }
    // And over IPv4, at once.
    const peer = await udpPeer(undefined, CHECK_SOURCES[0]);
    try {
      const reply = await firstReply(
        peer.socket,
        () => peer.socket.send(REQUEST, responder.port, '127.0.0.1'),
        200,
      );
      assert.equal(String(reply?.message), 'SERVER_IP:127.0.0.1');
    } finally {
      peer.close();
    }
    assert.deepEqual(unexpectedLines(responder), []);
    assert.deepEqual(await responder.close(), { status: 0, signal: null });
  });
});
