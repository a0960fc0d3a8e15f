import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { describe, it } from 'node:test';
import { RouteCache, routeSourceAddress } from '../../src/network/route.js';
import type { SocketFactory } from '../../src/network/socket.js';

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

describe('RouteCache', () => {
  /** A real socket factory that counts the sockets it made. */
  const counting = () => {
    const made = { count: 0 };
    const factory: SocketFactory = (options) => {
      made.count++;
      return createSocket(options);
    };
    return { made, factory };
  };

  it('asks the kernel once per address within its age, and again after it', async () => {
    const { made, factory } = counting();
    const cache = new RouteCache(factory, 1000);
    assert.equal(await cache.lookup('127.0.0.1', 'udp4', 0), '127.0.0.1');
    assert.equal(await cache.lookup('127.0.0.1', 'udp4', 500), '127.0.0.1');
    // Concurrent lookups of one address share one socket.
    const both = await Promise.all([
      cache.lookup('127.0.0.2', 'udp4', 500),
      cache.lookup('127.0.0.2', 'udp4', 500),
    ]);
    assert.deepEqual(both, ['127.0.0.1', '127.0.0.1']);
    assert.equal(made.count, 2);
    assert.equal(await cache.lookup('127.0.0.1', 'udp4', 1000), '127.0.0.1');
    assert.equal(made.count, 3, 'an answer older than the maximum age is asked again');
  });

  it('keeps at most maxEntries addresses', async () => {
    const { factory } = counting();
    const cache = new RouteCache(factory, 60_000, 8);
    for (let i = 1; i <= 40; i++) await cache.lookup(`127.0.0.${i}`, 'udp4', i);
    assert.equal(cache.size, 8);
  });
});
