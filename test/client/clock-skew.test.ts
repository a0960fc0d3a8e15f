/**
 * A Fernet reply with the right key but a time outside the replay window (issue 14, item 3): the
 * client says the server's clock is off, at most once a minute per server, and traces every such
 * reply. Real sockets on loopback; the server's (or the client's) clock is injected and skewed.
 */
import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { type DiscoverOptions, discover, generateKey, type TraceEvent } from '../../src/index.js';
import { beckon } from '../helpers/cli.js';
import { recordingLogger } from '../helpers/logger.js';
import { trackResponders } from '../helpers/responders.js';
import { LOCAL } from '../helpers/udp.js';

const KEY = generateKey();
// Servers that answer whatever the time (as the original does), with a skewed clock.
const startResponder = trackResponders({ rateLimit: 0, encryption: true, secretKey: KEY });
const skewedServer = (offsetMs: number) =>
  startResponder({ replayProtection: false, clock: { now: () => Date.now() + offsetMs } });

/** Runs `body` with `performance.now()` (the monotonic time of rate limits) `offsetMs` later. */
async function monotonicLater<T>(offsetMs: number, body: () => Promise<T>): Promise<T> {
  const real = performance.now.bind(performance);
  const mocked = mock.method(performance, 'now', () => real() + offsetMs);
  try {
    return await body();
  } finally {
    mocked.mock.restore();
  }
}

/** Runs a Fernet discovery against `port`, recording warnings and the trace. */
async function discoverRecorded(
  port: number,
  options: DiscoverOptions = {},
  logger = recordingLogger(),
) {
  const start = logger.warnings.length;
  const events: TraceEvent[] = [];
  const servers = await discover({
    ...LOCAL,
    port,
    encryption: true,
    secretKey: KEY,
    timeout: 700,
    logger,
    trace: (event) => events.push(event),
    ...options,
  });
  const skews = events.filter((e) => e.type === 'clock-skew');
  const stale = events.filter((e) => e.type === 'reply' && e.outcome === 'stale');
  return { servers, warnings: logger.warnings.slice(start), skews, stale };
}

const warning = (seconds: string, direction: string, minutes = 7) =>
  new RegExp(
    `^Ignored an encrypted reply from 127\\.0\\.0\\.1:\\d+: the key is right, but the server's clock is ${seconds} s \\(about ${minutes} min\\) ${direction} this host's, beyond the 300 s replay window\\. Sync both clocks \\(NTP\\), widen the window on both hosts \\(the replayWindow option, or --replay-window on the command line\\), or turn replay protection off \\(replayProtection: false, or --no-replay-protection\\)`,
  );

/** Runs `beckon discover` against `port` on loopback in Fernet mode with `args`. */
function discoverCli(port: number, ...args: string[]) {
  return beckon(
    [
      'discover',
      '--no-broadcast',
      '--target',
      '127.0.0.1',
      '--port',
      String(port),
      '--timeout',
      '0.7',
      ...args,
    ],
    { DISCOVERY_CLIENT_ENCRYPTION_ENABLED: 'true', DISCOVERY_CLIENT_SECRET_KEY: KEY },
  );
}

describe('clock skew on the client', () => {
  it('warns once a minute per server, and traces every stale reply', async () => {
    const server = await skewedServer(400_000);
    const recorder = recordingLogger();
    const first = await discoverRecorded(server.port, {}, recorder);
    assert.deepEqual(first.servers, []);
    assert.equal(first.warnings.length, 1, first.warnings.join('\n'));
    assert.match(first.warnings[0] ?? '', warning('(399|400)', 'ahead of'));
    // Every stale reply is traced with its skew (the retries bring several).
    assert.ok(first.skews.length >= 2, `${first.skews.length} clock-skew events`);
    assert.equal(first.skews.length, first.stale.length);
    for (const event of first.skews) {
      assert.ok(event.type === 'clock-skew');
      assert.ok(Math.abs(event.skewMs - 400_000) < 1500, String(event.skewMs));
      assert.equal(event.windowMs, 300_000);
      assert.equal(event.fromPort, server.port);
    }

    // Another run with the same logger within the minute: traced again, not logged again.
    const second = await discoverRecorded(server.port, {}, recorder);
    assert.deepEqual(second.warnings, []);
    assert.ok(second.skews.length >= 1);

    // A minute later (monotonic time), it is said again, even though this host's wall clock
    // was meanwhile set back an hour (the server now looks 4000 s ahead).
    const later = await monotonicLater(61_000, () =>
      discoverRecorded(server.port, { clock: { now: () => Date.now() - 3_600_000 } }, recorder),
    );
    assert.equal(later.warnings.length, 1, later.warnings.join('\n'));
    assert.match(later.warnings[0] ?? '', warning('(3999|4000)', 'ahead of', 67));
  });

  it('warns each logger of its own: a second consumer in the same process still hears of it', async () => {
    const server = await skewedServer(400_000);
    const first = await discoverRecorded(server.port);
    assert.equal(first.warnings.length, 1, first.warnings.join('\n'));
    const second = await discoverRecorded(server.port);
    assert.equal(second.warnings.length, 1, second.warnings.join('\n'));
  });

  it('says behind when the server is behind, and finds it with a wider window', async () => {
    const server = await skewedServer(-400_000);
    const { warnings, servers } = await discoverRecorded(server.port);
    assert.deepEqual(servers, []);
    assert.match(warnings[0] ?? '', warning('(400|401)', 'behind'));
    const wide = await discoverRecorded(server.port, { replayWindow: 600_000 });
    assert.equal(wide.servers.length, 1);
    assert.deepEqual(wide.warnings, []);
  });

  it('beckon discover --trace prints the clock-skew event and the warning', async () => {
    const server = await skewedServer(400_000);
    const { code, stderr } = await discoverCli(server.port, '--trace');
    assert.equal(code, 1, stderr);
    const port = server.port;
    assert.match(
      stderr,
      new RegExp(
        `^trace \\+[\\d.]+ms clock-skew targets <- 127\\.0\\.0\\.1:${port}: the server's clock is (399|400) s \\(about 7 min\\) ahead of this host's \\(window 300 s\\)$`,
        'm',
      ),
    );
    assert.match(
      stderr,
      /^warning: Ignored an encrypted reply from 127\.0\.0\.1:\d+: the key is right/m,
    );
  });
});

describe('beckon discover --replay-window', () => {
  it('widens the window the warning tells the user to widen, and takes a unit', async () => {
    const server = await skewedServer(400_000);
    const narrow = await discoverCli(server.port, '--json');
    assert.equal(narrow.code, 1, narrow.stderr);
    assert.match(narrow.stderr, /or --replay-window on the command line/);
    for (const window of ['600', '10m']) {
      const wide = await discoverCli(server.port, '--json', '--replay-window', window);
      assert.equal(wide.code, 0, wide.stderr);
      assert.equal(JSON.parse(wide.stdout).port, 8000);
      assert.doesNotMatch(wide.stderr, /clock is/);
    }
  });

  it('names the flag, the value and what is allowed for a bad value', async () => {
    const bad = await discoverCli(9, '--replay-window', 'soon');
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--replay-window must be .*got "soon"/);
  });
});
