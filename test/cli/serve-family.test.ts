/**
 * `beckon serve --ipv4` / `--ipv6` / `--no-groups` and IPv6 `--allow` CIDRs, on loopback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { decodeAnswer, encodeRequest } from '../../src/protocol/extended.js';
import { beckon, startBeckon } from '../helpers/cli.js';
import { ask, sleep } from '../helpers/udp.js';

/** Sends an extended request to [::1]:`port` (three tries) and resolves with the answers. */
async function askIPv6(port: number): Promise<string[]> {
  const socket = createSocket('udp6');
  const answers: string[] = [];
  socket.on('message', (message) => answers.push(decodeAnswer(message)?.address ?? 'junk'));
  socket.bind(0, '::1');
  await once(socket, 'listening');
  for (let i = 0; i < 3 && answers.length === 0; i++) {
    socket.send(encodeRequest({ nonce: randomBytes(16), timestamp: Date.now() }), port, '::1');
    await sleep(300);
  }
  socket.close();
  return answers;
}

async function serve(...flags: string[]) {
  const cli = startBeckon(['serve', '-p', '0', '--no-groups', ...flags]);
  const [, port] = await cli.waitFor(/\[OK\] Listening on \S+:(\d+)/, 20_000);
  return Object.assign(cli, { port: Number(port) });
}

describe('beckon serve --ipv4 / --ipv6', () => {
  it('--ipv6 answers extended requests on [::] only; no IPv4 socket', async () => {
    const cli = await serve('--ipv6', '--http-port', '8080');
    try {
      assert.match(cli.stdout, /Families: +IPv6 only/);
      assert.match(cli.stdout, /Multicast groups: +none \(--no-groups\)/);
      assert.match(cli.stdout, /\[OK\] Listening on \[::\]:\d+/);
      // The hint names a command that finds it (the client asks over IPv6 now).
      await cli.waitFor(
        new RegExp(`Try it: beckon discover --ipv6 --port ${cli.port} --target ::1\n`),
      );
      const tried = await beckon([
        'discover',
        '--ipv6',
        '--port',
        String(cli.port),
        '--target',
        '::1',
        '--no-broadcast',
        '--timeout',
        '1',
        '--json',
      ]);
      assert.equal(tried.code, 0, tried.stderr);
      assert.match(tried.stdout, /"ip":"::1"/);
      assert.deepEqual(await askIPv6(cli.port), ['::1']);
      assert.deepEqual(await ask(cli.port, 'DISCOVER_SERVER', 300), []);
    } finally {
      await cli.stop('SIGKILL');
    }
  });

  it('--ipv4 answers IPv4 only; both flags answer on both families', async () => {
    const v4 = await serve('--ipv4');
    try {
      assert.match(v4.stdout, /Families: +IPv4 only/);
      assert.deepEqual(await ask(v4.port, 'DISCOVER_SERVER', 300), ['SERVER_IP:127.0.0.1']);
      assert.deepEqual(await askIPv6(v4.port), []);
    } finally {
      await v4.stop('SIGKILL');
    }
    const both = await serve('--ipv4', '--ipv6');
    try {
      assert.match(both.stdout, /Families: +IPv4, and IPv6 for extended requests/);
      assert.deepEqual(await askIPv6(both.port), ['::1']);
    } finally {
      await both.stop('SIGKILL');
    }
  });

  it('documents the flags in --help', async () => {
    const run = await beckon(['serve', '--help']);
    assert.equal(run.code, 0);
    for (const flag of ['--ipv4', '--ipv6', '--no-groups'])
      assert.match(run.stdout, new RegExp(flag));
    assert.match(run.stdout, /--allow CIDR +also answer senders in CIDR, IPv4 or IPv6/);
  });

  it('takes IPv6 CIDRs in --allow and names the flag for a bad one', async () => {
    const good = await serve('--allow', 'fd00::/8', '--allow', '10.9.0.0/16');
    try {
      assert.match(
        good.stdout,
        /Allowed senders: +loopback, private on-link, fd00::\/8, 10\.9\.0\.0\/16/,
      );
    } finally {
      await good.stop('SIGKILL');
    }
    const bad = await beckon(['serve', '-p', '0', '--allow', 'fe80::1%eth0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid --allow: "fe80::1%eth0" \(expected IPv4 or IPv6 CIDRs/);
  });
});
