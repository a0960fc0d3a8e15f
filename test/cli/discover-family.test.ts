/**
 * `beckon discover --ipv4 / --ipv6` and IPv6 targets, against `beckon serve` on loopback: one
 * server answers on 127.0.0.1 and ::1 and is listed once with both addresses; each flag keeps
 * one family. Loopback only (`--no-broadcast --target`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { beckon, beckonServe, type ServeProcess } from '../helpers/cli.js';

describe('beckon discover --ipv4 / --ipv6', () => {
  let serve: ServeProcess;
  before(async () => {
    serve = await beckonServe(['--port', '0', '--http-port', '8090']);
  });
  after(() => serve.stop('SIGKILL'));

  const ask = (...flags: string[]) =>
    beckon([
      'discover',
      ...['--no-broadcast', '--target', '127.0.0.1', '--target', '::1'],
      ...['--port', String(serve.port), '--timeout', '0.6', '--json', ...flags],
    ]);
  const addressesOf = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { addresses: { address: string }[] }).addresses)
      .map((list) => list.map((a) => a.address).sort());

  it('without a flag (or with both), one server with both addresses', async () => {
    for (const flags of [[], ['--ipv4', '--ipv6']]) {
      const run = await ask(...flags);
      assert.equal(run.code, 0, run.stderr);
      // --json streams each server when first heard: the second family joins it in the table.
      const table = await beckon([
        'discover',
        ...['--no-broadcast', '--target', '127.0.0.1', '--target', '::1'],
        ...['--port', String(serve.port), '--timeout', '0.6', ...flags],
      ]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /^Found 1 server:\n/);
      assert.match(table.stdout, /ALSO AT/);
      assert.match(table.stdout, /127\.0\.0\.1|::1/);
    }
  });

  it('--ipv4 asks 127.0.0.1 only, --ipv6 asks ::1 only; a target of the other family is an error', async () => {
    const only = (target: string, flag: string) =>
      beckon([
        'discover',
        ...['--no-broadcast', '--target', target, '--port', String(serve.port)],
        ...['--timeout', '0.6', '--json', flag],
      ]);
    const four = await only('127.0.0.1', '--ipv4');
    assert.equal(four.code, 0, four.stderr);
    assert.deepEqual(addressesOf(four.stdout), [['127.0.0.1']]);
    const six = await only('::1', '-6');
    assert.equal(six.code, 0, six.stderr);
    assert.deepEqual(addressesOf(six.stdout), [['::1']]);
    assert.equal(JSON.parse(six.stdout).url, 'http://[::1]:8090');
    for (const flag of ['--ipv4', '--ipv6']) {
      const mixed = await ask(flag);
      assert.equal(mixed.code, 2, mixed.stderr);
      assert.match(mixed.stderr, /--target/);
    }
  });

  it('--ipv6 with --encryption is a usage error naming --ipv6', async () => {
    const key = 'x'.repeat(43).concat('=');
    const run = await beckon(['discover', '--ipv6', '--encryption', '--secret-key', key]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--ipv6/);
    assert.match(run.stderr, /Fernet/);
  });
});
