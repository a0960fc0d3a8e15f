/**
 * What `beckon discover` says when it cannot do what was asked: an `--interface` pattern that
 * matches nothing is a usage error listing the interfaces. (The host with only loopback is
 * covered in test/lab/scenarios/only-loopback.test.ts.)
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { before, describe, it } from 'node:test';

const BIN = new URL('../../bin/beckon.js', import.meta.url).pathname;

/** Runs the built CLI with a clean discovery environment. */
async function beckon(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = await once(child, 'close');
  return { code: code as number | null, stdout, stderr };
}

describe('beckon discover advice', () => {
  before(() => {
    assert.ok(
      existsSync(new URL('../../dist/cli-bundle/main.js', import.meta.url)),
      'run "npm run build" first',
    );
  });

  it('--interface matching no interface is a usage error that lists the interfaces', async () => {
    // --no-broadcast --target: should the check ever let it through, only loopback is asked.
    const run = await beckon([
      'discover',
      ...['--no-broadcast', '--target', '127.0.0.1', '--port', '9', '--timeout', '0.3'],
      ...['--interface', 'lo', '--interface', 'nope'],
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /^beckon: --interface "nope" matches no interface that is up with an IPv4 address\. Interfaces here: .*lo 127\.0\.0\.1\/8/,
    );
    for (const [name, addresses] of Object.entries(networkInterfaces())) {
      for (const a of addresses ?? []) {
        if (a.family === 'IPv4') assert.ok(run.stderr.includes(`${name} ${a.address}/`), name);
      }
    }
    assert.doesNotMatch(run.stderr, /No servers found/);
  });

  it('names every pattern that matches nothing, and accepts globs and CIDRs that match', async () => {
    const run = await beckon([
      'discover',
      ...['--port', '9', '--timeout', '0.3', '--no-broadcast', '--target', '127.0.0.1'],
      ...[
        '--interface',
        'l?',
        '--interface',
        '127.0.0.0/8',
        '--interface',
        'x*',
        '--interface',
        '203.0.113.0/24',
      ],
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--interface "x\*", "203\.0\.113\.0\/24" match no interface/);

    const fine = await beckon([
      'discover',
      ...['--port', '9', '--timeout', '0.3', '--no-broadcast', '--target', '127.0.0.1'],
      ...['--interface', 'l?', '--interface', '127.0.0.0/8'],
    ]);
    assert.equal(fine.code, 1, fine.stderr);
    assert.match(fine.stderr, /No servers found\./);
  });
});
