/**
 * Ctrl+C (SIGINT) or SIGTERM during `beckon discover` keeps what was found: the table is
 * printed, the NDJSON already streamed stays, and the exit status is 130 / 143 as shells expect.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startBeckon } from '../helpers/cli.js';
import { trackResponders } from '../helpers/responders.js';

const startResponder = trackResponders({ httpPort: 8125, rateLimit: 0 });

/**
 * Starts `beckon discover` on loopback only, with a deadline far beyond the test; it never
 * outlives the test (killed after 60 s), and each test kills it in `finally` too.
 */
function discoverFor30s(port: number, ...flags: string[]) {
  const args = ['--no-broadcast', '--target', '127.0.0.1', '--port', String(port)];
  return startBeckon(['discover', ...args, '--timeout', '30', ...flags], {}, 60_000);
}

describe('beckon discover interrupted', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`--json keeps the streamed servers on ${signal} and exits ${code}`, async () => {
      const { port } = await startResponder();
      const run = discoverFor30s(port, '--json');
      try {
        await run.waitFor(/\n/, 20_000, 'stdout');
        const started = Date.now();
        const exit = await run.stop(signal, 30_000);
        assert.equal(exit.status, code, run.stderr);
        assert.ok(Date.now() - started < 10_000, 'it waited for the deadline');
        const [line, ...rest] = run.stdout.trim().split('\n');
        assert.deepEqual(rest, []);
        assert.equal(JSON.parse(line ?? '').url, 'http://127.0.0.1:8125');
        assert.match(run.stderr, new RegExp(`Interrupted by ${signal}: 1 server found so far`));
      } finally {
        await run.stop('SIGKILL');
      }
    });

    it(`prints the table of what was found on ${signal} and exits ${code}`, async () => {
      const { port } = await startResponder();
      const run = discoverFor30s(port, '--trace');
      try {
        await run.waitFor(/: accepted \(claims 127\.0\.0\.1:8125\)/, 20_000, 'stderr');
        // The server is tagged with its interface (a route lookup of a few ms) before it counts.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const exit = await run.stop(signal, 30_000);
        assert.equal(exit.status, code, run.stderr);
        assert.match(run.stdout, /Found 1 server:/);
        assert.match(run.stdout, /127\.0\.0\.1\s+8125\s+http:\/\/127\.0\.0\.1:8125\s+lo\s/);
        assert.doesNotMatch(run.stderr, /No servers found/);
      } finally {
        await run.stop('SIGKILL');
      }
    });
  }

  it('exits 130 without the "nothing found" advice when interrupted before any answer', async () => {
    const run = discoverFor30s(9, '--trace');
    try {
      await run.waitFor(/send targets/, 20_000, 'stderr');
      const exit = await run.stop('SIGINT', 30_000);
      assert.equal(exit.status, 130, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /Interrupted by SIGINT: 0 servers found so far\./);
      assert.doesNotMatch(run.stderr, /No servers found|firewall/);
    } finally {
      await run.stop('SIGKILL');
    }
  });
});
