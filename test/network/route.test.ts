import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { routeSourceAddress } from '../../src/network/route.js';

describe('routeSourceAddress', () => {
  it('gives the local address of the route', async () => {
    assert.equal(await routeSourceAddress('127.0.0.1'), '127.0.0.1');
    assert.equal(await routeSourceAddress('127.3.2.1'), '127.0.0.1');
  });

  it('resolves undefined when no socket can be had, instead of crashing or hanging', () => {
    // A real EMFILE: the fixture uses up its descriptors (ulimit -n 64), then looks up a route.
    const run = spawnSync(
      'sh',
      [
        '-c',
        `ulimit -n 64 && exec "${process.execPath}" --import tsx test/network/fixtures/route-without-fds.ts`,
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout) as { address: string | null; held: number };
    assert.ok(result.held > 0, 'the fixture did not use up descriptors');
    assert.equal(result.address, null);
  });

  it('resolves undefined when the socket factory throws', async () => {
    const factory = () => {
      throw new Error('no sockets today');
    };
    assert.equal(await routeSourceAddress('127.0.0.1', factory), undefined);
  });
});
