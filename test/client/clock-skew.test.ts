/**
 * A Fernet reply with the right key but a time outside the replay window (issue 14, item 3): the
 * client says the server's clock is off, at most once a minute per server, and traces every such
 * reply. Real sockets on loopback; the server's (or the client's) clock is injected and skewed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type DiscoverOptions, discover, generateKey, type TraceEvent } from '../../src/index.js';
import { beckon } from '../helpers/cli.js';
import { recordingLogger } from '../helpers/logger.js';
import { trackResponders } from '../helpers/responders.js';
import { LOCAL } from '../helpers/udp.js';

const _ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = generateKey();
// Servers that answer whatever the time (as the original does), with a skewed clock.
const startResponder = trackResponders({ rateLimit: 0, encryption: true, secretKey: KEY });
const skewedServer = (offsetMs: number) =>
  startResponder({ replayProtection: false, clock: { now: () => Date.now() + offsetMs } });

/** Runs a Fernet discovery against `port`, recording warnings and the trace. */
async function discoverRecorded(port: number, options: DiscoverOptions = {}) {
  const logger = recordingLogger();
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
  return { servers, warnings: logger.warnings, skews, stale };
}

const warning = (seconds: string, direction: string, minutes = 7) =>
  new RegExp(
    `^Ignored an encrypted reply from 127\\.0\\.0\\.1:\\d+: the key is right, but the server's clock is ${seconds} s \\(about ${minutes} min\\) ${direction} this host's, beyond the 300 s replay window\\. Sync both clocks \\(NTP\\), widen replayWindow, or turn replay protection off \\(--no-replay-protection\\)`,
  );

describe('clock skew on the client', () => {
  it('warns once a minute per server, and traces every stale reply', async () => {
    const server = await skewedServer(400_000);
    const first = await discoverRecorded(server.port);
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

    // Another run within the minute: traced again, not logged again.
    const second = await discoverRecorded(server.port);
    assert.deepEqual(second.warnings, []);
    assert.ok(second.skews.length >= 1);

    // On a client clock a minute later (and 61 s nearer the server's), it is said again.
    const later = await discoverRecorded(server.port, {
      clock: { now: () => Date.now() + 61_000 },
    });
    assert.equal(later.warnings.length, 1, later.warnings.join('\n'));
    assert.match(later.warnings[0] ?? '', warning('(338|339)', 'ahead of', 6));
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
    const args = ['discover', '--no-broadcast', '--target', '127.0.0.1', '--port'];
    const { code, stderr } = await beckon(
      [...args, String(server.port), '--timeout', '0.7', '--trace'],
      { DISCOVERY_CLIENT_ENCRYPTION_ENABLED: 'true', DISCOVERY_CLIENT_SECRET_KEY: KEY },
    );
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
