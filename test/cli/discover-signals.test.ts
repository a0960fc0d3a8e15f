/**
 * Ctrl+C (SIGINT) or SIGTERM during `beckon discover` keeps what was found: the table is
 * printed, the NDJSON already streamed stays, and the exit status is 130 / 143 as shells expect.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { trackResponders } from '../helpers/responders.js';

const BIN = new URL('../../bin/beckon.js', import.meta.url).pathname;
const startResponder = trackResponders({ httpPort: 8125, rateLimit: 0 });

/** Starts `beckon discover` on loopback only, with a deadline far beyond the test. */
function discoverFor30s(port: number, ...flags: string[]) {
  const args = ['--no-broadcast', '--target', '127.0.0.1', '--port', String(port)];
  const child = spawn(process.execPath, [BIN, 'discover', ...args, '--timeout', '30', ...flags], {
    env: { PATH: process.env.PATH ?? '' },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    out.stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    out.stderr += text;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  // Never outlive the test, whatever happens to it.
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  void exited.then(() => clearTimeout(killer));
  /** Resolves when `pattern` shows in `stream`; rejects if the process ends or 20 s pass. */
  const waitFor = async (stream: 'stdout' | 'stderr', pattern: RegExp) => {
    const deadline = Date.now() + 20_000;
    while (!pattern.test(out[stream])) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`no ${pattern} on ${stream}:\n${out.stdout}\n${out.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { child, out, exited, waitFor };
}

describe('beckon discover interrupted', () => {
  before(() => {
    assert.ok(
      existsSync(new URL('../../dist/cli-bundle/main.js', import.meta.url)),
      'run "npm run build" first',
    );
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`--json keeps the streamed servers on ${signal} and exits ${code}`, async () => {
      const { port } = await startResponder();
      const run = discoverFor30s(port, '--json');
      await run.waitFor('stdout', /\n/);
      const started = Date.now();
      run.child.kill(signal);
      const exit = await run.exited;
      assert.equal(exit.code, code, run.out.stderr);
      assert.ok(Date.now() - started < 10_000, 'it waited for the deadline');
      const [line, ...rest] = run.out.stdout.trim().split('\n');
      assert.deepEqual(rest, []);
      assert.equal(JSON.parse(line ?? '').url, 'http://127.0.0.1:8125');
      assert.match(run.out.stderr, new RegExp(`Interrupted by ${signal}: 1 server found so far`));
    });

    it(`prints the table of what was found on ${signal} and exits ${code}`, async () => {
      const { port } = await startResponder();
      const run = discoverFor30s(port, '--trace');
      await run.waitFor('stderr', /: accepted \(claims 127\.0\.0\.1:8125\)/);
      // The server is tagged with its interface (a route lookup of a few ms) before it counts.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      run.child.kill(signal);
      const exit = await run.exited;
      assert.equal(exit.code, code, run.out.stderr);
      assert.match(run.out.stdout, /Found 1 server:/);
      assert.match(run.out.stdout, /127\.0\.0\.1\s+8125\s+http:\/\/127\.0\.0\.1:8125\s+lo\s/);
      assert.doesNotMatch(run.out.stderr, /No servers found/);
    });
  }

  it('exits 130 without the "nothing found" advice when interrupted before any answer', async () => {
    const run = discoverFor30s(9, '--trace');
    await run.waitFor('stderr', /send targets/);
    run.child.kill('SIGINT');
    const exit = await run.exited;
    assert.equal(exit.code, 130, run.out.stderr);
    assert.equal(run.out.stdout, '');
    assert.match(run.out.stderr, /Interrupted by SIGINT: 0 servers found so far\./);
    assert.doesNotMatch(run.out.stderr, /No servers found|firewall/);
  });
});
