/**
 * What the responder's log says about requests it refuses (issue 14, items 3 and 7): a summary
 * by reason at most once a minute, and a warning naming a sender whose clock is off, at most once
 * a minute per sender. Real sockets on loopback; the responder's clock is injected, so a minute
 * passes without waiting for it.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import {
  type BeckonError,
  createResponder,
  type DropEvent,
  discover,
  generateKey,
  type ResponderOptions,
} from '../../src/index.js';
import { encodeRequest } from '../../src/protocol/extended.js';
import { decodeFernetKey, encryptFernet } from '../../src/protocol/fernet.js';
import { beckonServe } from '../helpers/cli.js';
import { recordingLogger } from '../helpers/logger.js';
import { exchange, LOCAL, sleep } from '../helpers/udp.js';

const KEY = generateKey();
const OTHER_KEY = generateKey();
const MINUTE = 60_000;

/** A clock that reads the system time plus an offset the test moves. */
function movableClock(offsetMs = 0) {
  const clock = { offsetMs, now: () => Date.now() + clock.offsetMs };
  return clock;
}

/**
 * Moves `performance.now()`, the monotonic time the summaries and warnings are rate limited on,
 * by an offset the test moves (restored when the test ends).
 */
function movableMonotonic(t: TestContext) {
  const real = performance.now.bind(performance);
  const monotonic = { offsetMs: 0 };
  t.mock.method(performance, 'now', () => real() + monotonic.offsetMs);
  return monotonic;
}

/** A signed (or, without a key, unsigned) extended request made at `timestamp`. */
const extendedRequest = (key?: string, service?: string, timestamp = Date.now()) =>
  encodeRequest(
    { nonce: randomBytes(16), timestamp, service },
    key === undefined ? undefined : Buffer.from(key),
  );

const fernetKey = decodeFernetKey(KEY);
const otherFernetKey = decodeFernetKey(OTHER_KEY);
assert.ok(typeof fernetKey !== 'string' && typeof otherFernetKey !== 'string');
const fernetRequest = (key = fernetKey, seconds = Date.now() / 1000, message = 'DISCOVER_SERVER') =>
  encryptFernet(key, Buffer.from(message), seconds, randomBytes(16));

/** Starts a responder on a free port that records what it logs and emits. */
async function start(options: ResponderOptions) {
  const logger = recordingLogger();
  const { warnings } = logger;
  const responder = createResponder({
    joinGroups: false,
    port: 0,
    env: {},
    rateLimit: 0,
    logger,
    ...options,
  });
  const events: BeckonError[] = [];
  responder.on('warning', (warning) => events.push(warning));
  await responder.start();
  const port = responder.port ?? 0;
  const summaries = () => warnings.filter((w) => / refused/.test(w) && !/^Refused/.test(w));
  return { responder, port, warnings, summaries, events };
}

/** Waits until `done()` holds, up to 10 s (threads and a loaded machine can be slow). */
async function waitFor(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('refused requests in the log', () => {
  it('summarises them by reason: the first at once, then at most once a minute', async (t) => {
    const monotonic = movableMonotonic(t);
    // The wall clock set forward an hour changes nothing: the minute is monotonic time.
    const clock = movableClock();
    const { responder, port, summaries } = await start({ authKeys: [KEY], service: 'api', clock });
    try {
      await exchange(port, [extendedRequest(OTHER_KEY)]);
      assert.deepEqual(summaries(), [
        '1 request refused: signed with an unknown key (from 127.0.0.1); further refusals are summarised at most once a minute',
      ]);
      // Within the minute: counted, not logged. Answered requests are not counted.
      const answered = await exchange(port, [
        ...Array.from({ length: 11 }, () => extendedRequest(OTHER_KEY)),
        Buffer.from('DISCOVER_SERVER'),
        extendedRequest(),
        extendedRequest(KEY, 'printing'),
        extendedRequest(KEY, 'api'),
        Buffer.from('garbage'), // not a request at all: not summarised
      ]);
      assert.equal(answered.length, 1);
      assert.equal(summaries().length, 1, summaries().join('\n'));
      clock.offsetMs = 3_600_000;
      await exchange(port, [extendedRequest(OTHER_KEY)]);
      assert.equal(summaries().length, 1, summaries().join('\n'));
      monotonic.offsetMs += MINUTE + 1000;
      await exchange(port, [extendedRequest(OTHER_KEY)]);
      assert.deepEqual(summaries().slice(1), [
        '16 requests refused in the last minute: 13 signed with an unknown key, 2 not signed (the original client, or beckon without --auth-key), 1 for another service (from 127.0.0.1)',
      ]);
      // What is left when the responder stops is logged then.
      await exchange(port, [extendedRequest(OTHER_KEY)]);
      assert.equal(summaries().length, 2);
    } finally {
      await responder.stop();
    }
    assert.equal(summaries().length, 3);
    assert.match(
      summaries()[2] ?? '',
      /^1 request refused in the last minute: signed with an unknown key/,
    );
  });

  it('logs what was counted once the minute is over, even when refusals stop', async (t) => {
    const monotonic = movableMonotonic(t);
    const { responder, port, summaries } = await start({ authKeys: [KEY] });
    try {
      await exchange(port, [extendedRequest(OTHER_KEY)]);
      assert.equal(summaries().length, 1);
      // 2 s before the minute is over; nothing refused after these two.
      monotonic.offsetMs += MINUTE - 2000;
      await exchange(port, [extendedRequest(OTHER_KEY), extendedRequest(OTHER_KEY)], 0);
      await waitFor(() => summaries().length === 2, 'the summary at the end of the minute');
      assert.equal(
        summaries()[1],
        '2 requests refused in the last minute: signed with an unknown key (from 127.0.0.1)',
      );
    } finally {
      await responder.stop();
    }
  });

  it('names each mode and reason in words an operator can act on', async () => {
    const fernet = await start({ encryption: true, secretKey: KEY });
    const plain = await start({});
    try {
      await exchange(fernet.port, [fernetRequest(otherFernetKey)]);
      await exchange(fernet.port, [fernetRequest(fernetKey, Date.now() / 1000, 'PING')], 0);
      await exchange(plain.port, [fernetRequest()]);
      await exchange(plain.port, [extendedRequest(KEY)]);
      assert.match(fernet.summaries()[0] ?? '', /^1 request refused: encrypted with another key/);
      await fernet.responder.stop(); // logs what was counted since
      assert.match(
        fernet.summaries()[1] ?? '',
        /^1 request refused in the last minute: encrypted with this key but holding another message \(the client's --message differs\)/,
      );
      assert.deepEqual(
        plain.summaries().map((s) => s.replace(/ \(from .*/, '')),
        ['1 request refused: encrypted (Fernet), but this responder runs without encryption'],
      );
    } finally {
      await Promise.all([fernet.responder.stop(), plain.responder.stop()]);
    }
    const unencrypted = await start({ encryption: true, secretKey: KEY });
    try {
      await exchange(unencrypted.port, [Buffer.from('DISCOVER_SERVER')]);
      assert.match(
        unencrypted.summaries()[0] ?? '',
        /^1 request refused: not encrypted \(a client without encryption and this key\)/,
      );
    } finally {
      await unencrypted.responder.stop();
    }
  });

  it('logs the same lines from a worker thread', async () => {
    const { responder, port, summaries } = await start({ authKeys: [KEY], worker: true });
    try {
      await exchange(port, [extendedRequest(OTHER_KEY)]);
      await waitFor(() => summaries().length > 0, 'a summary from the worker thread');
      assert.deepEqual(summaries(), [
        '1 request refused: signed with an unknown key (from 127.0.0.1); further refusals are summarised at most once a minute',
      ]);
    } finally {
      await responder.stop();
    }
  });
});

describe('clock skew', () => {
  const skewed =
    /^Refused an encrypted request from 127\.0\.0\.1: the key is right, but its clock is (\d+) s \(about (\d+) min\) (ahead of|behind) this host's, beyond the 300 s replay window\. Sync both clocks \(NTP\), widen the window on both hosts \(the replayWindow option, or --replay-window on the command line\), or turn replay protection off \(replayProtection: false, or --no-replay-protection\)/;

  it('warns, once a minute per sender, that a Fernet client is behind or ahead', async (t) => {
    const monotonic = movableMonotonic(t);
    // This responder's clock is 400 s behind: a client on the system clock is 400 s ahead.
    const clock = movableClock(-400_000);
    const { responder, port, events, warnings } = await start({
      encryption: true,
      secretKey: KEY,
      clock,
    });
    try {
      const client = { ...LOCAL, port, encryption: true, secretKey: KEY, timeout: 400 };
      assert.deepEqual(await discover(client), []); // six requests, each refused
      assert.equal(events.length, 1, events.map((e) => e.message).join('\n'));
      assert.equal(events[0]?.code, 'BECKON_ERR_CLOCK_SKEW');
      const [, seconds, minutes, direction] = skewed.exec(events[0]?.message ?? '') ?? [];
      assert.ok(Math.abs(Number(seconds) - 400) <= 1, events[0]?.message);
      assert.equal(minutes, '7');
      assert.equal(direction, 'ahead of');
      assert.ok(warnings.includes(events[0]?.message ?? ''), 'logged too');
      assert.ok(
        warnings.some((w) =>
          /^1 request refused: timestamp more than 300 s from this host's clock/.test(w),
        ),
        warnings.join('\n'),
      );

      // This host's wall clock set back an hour within the minute: not named again...
      clock.offsetMs = -4_000_000;
      await exchange(port, [fernetRequest()]);
      assert.equal(events.length, 1, events.map((e) => e.message).join('\n'));
      // ...but a minute later (monotonic time) it is, although the wall clock went back.
      monotonic.offsetMs += MINUTE + 1000;
      await exchange(port, [fernetRequest()]);
      assert.equal(events.length, 2, events.map((e) => e.message).join('\n'));
      assert.match(
        events[1]?.message ?? '',
        /its clock is (3999|4000) s \(about 67 min\) ahead of/,
      );

      // Another minute later the sender is named again; now it is behind.
      clock.offsetMs = 460_000;
      monotonic.offsetMs += MINUTE + 1000;
      await exchange(port, [fernetRequest(), fernetRequest()]);
      assert.equal(events.length, 3, events.map((e) => e.message).join('\n'));
      const [, later, , behind] = skewed.exec(events[2]?.message ?? '') ?? [];
      assert.ok(Math.abs(Number(later) - 460) <= 1, events[2]?.message);
      assert.equal(behind, 'behind');
    } finally {
      await responder.stop();
    }
  });

  it('finds the server again with a window that covers the skew, or without replay protection', async () => {
    for (const options of [{ replayWindow: 600_000 }, { replayProtection: false }]) {
      const clock = movableClock(400_000);
      const { responder, port, events } = await start({
        encryption: true,
        secretKey: KEY,
        clock,
        ...options,
      });
      try {
        // A 600 s window on both sides: the client also takes the server's 400 s-ahead reply.
        const found = await discover({
          ...LOCAL,
          port,
          encryption: true,
          secretKey: KEY,
          timeout: 400,
          ...options,
        });
        assert.equal(found.length, 1, JSON.stringify(options));
        assert.deepEqual(events, []);
      } finally {
        await responder.stop();
      }
    }
  });

  it('says what to do in authenticated mode, where replay protection cannot be turned off', async () => {
    const clock = movableClock(-400_000);
    const { responder, port, events } = await start({ authKeys: [KEY], clock });
    try {
      await exchange(port, [extendedRequest(KEY)]);
      assert.match(
        events[0]?.message ?? '',
        /^Refused a signed request from 127\.0\.0\.1: the key is right, but its clock is 40[01] s \(about 7 min\) ahead of this host's, beyond the 300 s replay window\. Sync both clocks \(NTP\), or widen the window on both hosts \(the replayWindow option, or --replay-window on the command line\)\./,
      );
    } finally {
      await responder.stop();
    }
  });

  it('warns from a worker thread too, relayed as a warning event', async () => {
    const { responder, port, events } = await start({
      encryption: true,
      secretKey: KEY,
      worker: true,
    });
    try {
      await exchange(port, [fernetRequest(fernetKey, Date.now() / 1000 - 3600)]);
      await waitFor(() => events.length > 0, 'a skew warning from the worker thread');
      assert.equal(events[0]?.code, 'BECKON_ERR_CLOCK_SKEW');
      assert.match(
        events[0]?.message ?? '',
        /its clock is 360[01] s \(about 60 min\) behind this host's/,
      );
    } finally {
      await responder.stop();
    }
  });
});

describe('beckon serve', () => {
  it('prints the summary of refused requests on stderr', async () => {
    const serve = await beckonServe(['--port', '0'], { DISCOVERY_AUTH_KEYS: KEY });
    try {
      await exchange(serve.port, [Buffer.from('DISCOVER_SERVER')]);
      await serve.waitFor(/refused/, 10_000, 'stderr');
      assert.match(
        serve.stderr,
        /^warning: 1 request refused: not signed \(the original client, or beckon without --auth-key\) \(from 127\.0\.0\.1\); further refusals are summarised at most once a minute$/m,
      );
      const { status } = await serve.stop('SIGTERM');
      assert.equal(status, 0);
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  it('--trace prints a stale request with how far the sender clock is off', async () => {
    const serve = await beckonServe(['--port', '0', '--trace'], {
      DISCOVERY_ENCRYPTION_ENABLED: 'true',
      DISCOVERY_SECRET_KEY: KEY,
    });
    try {
      // A request made 400 s in the future: its sender's clock is 400 s ahead.
      await exchange(serve.port, [fernetRequest(fernetKey, Date.now() / 1000 + 400)]);
      await serve.waitFor(/Dropped/, 10_000, 'stderr');
      assert.match(
        serve.stderr,
        /^Dropped 127\.0\.0\.1:\d+: stale \(its clock is (399|400) s \(about 7 min\) ahead of this host's\)$/m,
      );
      const { status } = await serve.stop('SIGTERM');
      assert.equal(status, 0);
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  it('emits the skew with a stale drop event', async () => {
    const { responder, port } = await start({ encryption: true, secretKey: KEY });
    try {
      const drops: DropEvent[] = [];
      responder.on('drop', (drop) => drops.push(drop));
      await exchange(port, [fernetRequest(fernetKey, Date.now() / 1000 - 1000), Buffer.from('x')]);
      await waitFor(() => drops.length === 2, 'two drop events');
      const stale = drops.find((d) => d.reason === 'stale');
      assert.ok(stale?.skewMs !== undefined && Math.abs(stale.skewMs + 1_000_000) < 2000);
      assert.equal(drops.find((d) => d.reason !== 'stale')?.skewMs, undefined);
    } finally {
      await responder.stop();
    }
  });
});
