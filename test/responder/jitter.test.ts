/** `replyJitter`: each reply waits a random delay in [min, max] milliseconds. */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import {
  createResponder,
  type DiscoverOptions,
  discover,
  discoverOne,
  InvalidOptionError,
  type ReplyEvent,
  type ResponderOptions,
} from '../../src/index.js';
import { parseJitter } from '../../src/responder/options.js';
import { trackResponders } from '../helpers/responders.js';
import { LOCAL, sleep, udpPeer } from '../helpers/udp.js';

const start = trackResponders({ rateLimit: 0 });

/**
 * One send and no re-send: a plain reply does not say which request it answers, so with a
 * re-send 100 ms after the first the client would time it from the re-send.
 */
const once = (port: number): DiscoverOptions => ({ port, ...LOCAL, timeout: 1500, retries: 0 });

/** A timer may fire up to a millisecond early against performance.now(). */
const EARLY_MS = 3;
/** Room for a loaded machine: a loopback reply without jitter has taken 150 ms under load. */
const LATE_MS = 350;

describe('reply jitter', () => {
  it('answers at once without jitter (the control)', async () => {
    const responder = await start({ httpPort: 80 });
    assert.deepEqual(responder.settings.replyJitter, [0, 0]);
    const rtts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const found = await discoverOne(once(responder.port));
      assert.ok(found, `not discovered in round ${i}`);
      rtts.push(found.rttMs);
    }
    assert.ok(Math.min(...rtts) < 100, `rtts ${rtts.join(', ')} ms without jitter`);
  });

  it('with [150, 250], every reply waits 150 to 250 ms, and not always the same', async () => {
    const responder = await start({ httpPort: 80, replyJitter: [150, 250] });
    assert.deepEqual(responder.settings.replyJitter, [150, 250]);
    const rtts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const found = await discoverOne(once(responder.port));
      assert.ok(found, `not discovered in round ${i}`);
      rtts.push(found.rttMs);
    }
    for (const rtt of rtts) {
      assert.ok(rtt >= 150 - EARLY_MS && rtt < 250 + LATE_MS, `rtts ${rtts.join(', ')} ms`);
    }
    // The best of five draws from [150, 250] is about 167 ms: a doubled delay would be >= 300.
    assert.ok(Math.min(...rtts) < 300, `rtts ${rtts.join(', ')} ms`);
    // Five uniform draws from a 100 ms range all within 5 ms of each other: p < 1e-4.
    assert.ok(Math.max(...rtts) - Math.min(...rtts) > 5, `rtts ${rtts.join(', ')} ms`);
  });

  it('times extended replies by their own request, re-sends or not', async () => {
    const responder = await start({ httpPort: 80, replyJitter: [150, 250] });
    const found = await discoverOne({
      port: responder.port,
      ...LOCAL,
      timeout: 1500,
      extended: true,
    });
    assert.ok(found, 'not discovered');
    assert.ok(found.rttMs >= 150 - EARLY_MS && found.rttMs < 250 + LATE_MS, `rtt ${found.rttMs}`);
  });

  it('with [min, min], waits exactly that long', async () => {
    const responder = await start({ httpPort: 80, replyJitter: [120, 120] });
    const found = await discoverOne(once(responder.port));
    assert.ok(found, 'not discovered');
    assert.ok(found.rttMs >= 120 - EARLY_MS && found.rttMs < 120 + LATE_MS, `rtt ${found.rttMs}`);
  });

  it('delays each reply of a burst on its own, emitting reply as it goes out', async () => {
    const responder = await start({ httpPort: 80, replyJitter: [100, 200] });
    const events: number[] = [];
    responder.on('reply', () => events.push(performance.now()));
    const peer = await udpPeer();
    try {
      const sent = performance.now();
      for (let i = 0; i < 10; i++) peer.socket.send('DISCOVER_SERVER', responder.port, '127.0.0.1');
      await sleep(50);
      assert.deepEqual(peer.received, [], 'a reply came before the minimum delay');
      assert.deepEqual(events, []);
      const deadline = performance.now() + 200 + 2000;
      while (peer.received.length < 10 && performance.now() < deadline) await sleep(20);
      assert.equal(peer.received.length, 10);
      assert.equal(events.length, 10);
      for (const at of events) assert.ok(at - sent >= 100 - EARLY_MS, `after ${at - sent} ms`);
      // Ten independent draws from a 100 ms range, all within 5 ms: p < 1e-10.
      assert.ok(Math.max(...events) - Math.min(...events) > 5, 'one delay for the whole burst');
    } finally {
      peer.close();
    }
  });

  it('drops the replies still waiting when the responder stops', async () => {
    const responder = await start({ httpPort: 80, replyJitter: [200, 200] });
    const replies: ReplyEvent[] = [];
    responder.on('reply', (event) => replies.push(event));
    const peer = await udpPeer();
    try {
      peer.socket.send('DISCOVER_SERVER', responder.port, '127.0.0.1');
      await sleep(50);
      await responder.stop();
      await sleep(300);
      assert.deepEqual(peer.received, []);
      assert.deepEqual(replies, []);
    } finally {
      peer.close();
    }
  });

  it('keeps at most 4,096 replies waiting and drops the rest as rate-limited', async () => {
    // Count what reaches the responder: on a loaded machine the kernel drops part of a burst
    // before the responder reads it, so what was sent says nothing exact.
    let received = 0;
    let lastReceived = 0;
    let onReceived: (() => void) | undefined;
    const DELAY = 10_000; // the longest jitter: far more than sending takes on a slow machine
    const responder = await start({
      httpPort: 80,
      replyJitter: [DELAY, DELAY],
      socketFactory: (options) =>
        createSocket(options).on('message', () => {
          received++;
          lastReceived = performance.now();
          onReceived?.();
        }),
    });
    /** Resolves once `count` requests are in, or when none came for 50 ms (the rest were lost). */
    const arrived = (count: number) =>
      new Promise<void>((resolve) => {
        let idle: NodeJS.Timeout | undefined;
        const done = () => {
          clearTimeout(idle);
          onReceived = undefined;
          resolve();
        };
        const wait = () => {
          clearTimeout(idle);
          idle = setTimeout(done, 50);
        };
        onReceived = () => (received >= count ? done() : wait());
        onReceived();
      });
    const drops = new Map<string, number>();
    responder.on('drop', (event) => drops.set(event.reason, (drops.get(event.reason) ?? 0) + 1));
    let replies = 0;
    responder.on('reply', () => replies++);
    const peer = await udpPeer();
    try {
      // At least 5,000 requests received, in batches the socket buffer holds (a few hundred);
      // what the kernel dropped of one batch is made up by the next.
      const started = performance.now();
      let sent = 0;
      while (received < 5000) {
        const elapsed = performance.now() - started;
        assert.ok(elapsed < DELAY - 2000, `${received} of ${sent} received in ${elapsed} ms`);
        for (let i = 0; i < 100; i++) {
          peer.socket.send('DISCOVER_SERVER', responder.port, '127.0.0.1');
        }
        sent += 100;
        await arrived(sent);
      }
      // Each request received either waits or is refused: exactly 4,096 wait.
      assert.deepEqual([...drops], [['rate-limited', received - 4096]], `${received} received`);
      assert.equal(peer.received.length, 0, 'nothing is sent before the delay');
      assert.equal(replies, 0);
      await responder.stop(); // and stop cancels the 4,096 still waiting
      await sleep(lastReceived + DELAY + 300 - performance.now());
      assert.equal(peer.received.length, 0);
      assert.equal(replies, 0);
    } finally {
      peer.close();
    }
  });

  it('applies in worker mode too', async () => {
    const responder = await start({ httpPort: 80, replyJitter: [150, 250], worker: true });
    const found = await discoverOne(once(responder.port));
    assert.ok(found, 'not discovered');
    assert.ok(found.rttMs >= 150 - EARLY_MS && found.rttMs < 250 + LATE_MS, `rtt ${found.rttMs}`);
    const none = await discover({ ...once(responder.port), timeout: 100 });
    assert.deepEqual(none, [], 'a reply came within 100 ms');
  });
});

describe('reply jitter settings', () => {
  const settings = (options: ResponderOptions) =>
    createResponder({ env: {}, ...options }).settings.replyJitter;

  it('reads DISCOVERY_REPLY_JITTER as MIN-MAX or MAX', () => {
    assert.deepEqual(settings({ env: { DISCOVERY_REPLY_JITTER: '20-120' } }), [20, 120]);
    assert.deepEqual(settings({ env: { DISCOVERY_REPLY_JITTER: '120' } }), [0, 120]);
    assert.deepEqual(settings({ env: { DISCOVERY_REPLY_JITTER: ' 20 - 120 ' } }), [20, 120]);
    assert.deepEqual(settings({ env: { DISCOVERY_REPLY_JITTER: '0-10000' } }), [0, 10000]);
    assert.deepEqual(settings({ env: { DISCOVERY_REPLY_JITTER: '' } }), [0, 0]);
  });

  it('lets the option win over the environment', () => {
    const env = { DISCOVERY_REPLY_JITTER: '20-120' };
    assert.deepEqual(settings({ env, replyJitter: [5, 7] }), [5, 7]);
    assert.deepEqual(settings({ env, replyJitter: [0, 0] }), [0, 0]);
    // The option wins even over a malformed variable, which is then never read.
    assert.deepEqual(
      settings({ env: { DISCOVERY_REPLY_JITTER: 'x' }, replyJitter: [1, 2] }),
      [1, 2],
    );
  });

  it('accepts the bounds', () => {
    assert.deepEqual(settings({ replyJitter: [0, 10_000] }), [0, 10_000]);
    assert.deepEqual(settings({ replyJitter: [10_000, 10_000] }), [10_000, 10_000]);
    assert.deepEqual(settings({ replyJitter: [7, 7] }), [7, 7]);
  });

  const invalid: [string, ResponderOptions, string][] = [
    ['120-20', { env: { DISCOVERY_REPLY_JITTER: '120-20' } }, 'DISCOVERY_REPLY_JITTER'],
    ['20001', { env: { DISCOVERY_REPLY_JITTER: '20001' } }, 'DISCOVERY_REPLY_JITTER'],
    ['0-10001', { env: { DISCOVERY_REPLY_JITTER: '0-10001' } }, 'DISCOVERY_REPLY_JITTER'],
    ['x', { env: { DISCOVERY_REPLY_JITTER: 'x' } }, 'DISCOVERY_REPLY_JITTER'],
    ['-5', { env: { DISCOVERY_REPLY_JITTER: '-5' } }, 'DISCOVERY_REPLY_JITTER'],
    ['1.5', { env: { DISCOVERY_REPLY_JITTER: '1.5' } }, 'DISCOVERY_REPLY_JITTER'],
    ['[1]', { replyJitter: [1] as unknown as [number, number] }, 'replyJitter'],
    ['[1, 2, 3]', { replyJitter: [1, 2, 3] as unknown as [number, number] }, 'replyJitter'],
    ['[5, 2]', { replyJitter: [5, 2] }, 'replyJitter'],
    ['[0, 1.5]', { replyJitter: [0, 1.5] }, 'replyJitter'],
    ['[-1, 5]', { replyJitter: [-1, 5] }, 'replyJitter'],
    ['[0, 10001]', { replyJitter: [0, 10_001] }, 'replyJitter'],
    ['[0, NaN]', { replyJitter: [0, Number.NaN] }, 'replyJitter'],
    ['"20-120"', { replyJitter: '20-120' as unknown as [number, number] }, 'replyJitter'],
  ];
  for (const [name, options, option] of invalid) {
    it(`throws InvalidOptionError naming ${option} for ${name}`, () => {
      assert.throws(
        () => createResponder({ env: {}, ...options }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidOptionError, String(error));
          assert.equal(error.code, 'BECKON_ERR_INVALID_OPTION');
          assert.equal(error.option, option);
          assert.match(error.message, new RegExp(`^Invalid ${option}: `));
          return true;
        },
      );
    });
  }

  it('parseJitter reads MIN-MAX and MAX, and refuses the rest', () => {
    assert.deepEqual(parseJitter('20-120'), [20, 120]);
    assert.deepEqual(parseJitter('120'), [0, 120]);
    assert.deepEqual(parseJitter('0-0'), [0, 0]);
    assert.deepEqual(parseJitter('10000'), [0, 10000]);
    for (const text of ['', '120-20', '10001', '-1', '1-', '-', 'x', '1.5', '1-2-3', '0x10']) {
      assert.equal(parseJitter(text), undefined, JSON.stringify(text));
    }
  });
});
