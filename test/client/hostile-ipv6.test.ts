/**
 * The client against a hostile responder on ::1: junk, truncated answers, answers echoing the
 * nonce but claiming odd IPv6 addresses (mapped IPv4, ::, multicast, link-local, NAT64, the
 * wrong host) and plain-text replies over IPv6. The run never throws, ends at its deadline, and
 * reports only what it can stand behind. Loopback only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterEach, it } from 'node:test';
import { discover } from '../../src/client/discover.js';
import * as extended from '../../src/protocol/extended.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const task of cleanup.splice(0)) task();
});

const CLAIMS = [
  '::ffff:10.0.0.1',
  '::ffff:127.0.0.1',
  '::',
  'ff02::1',
  'ff12::6265:636b',
  'fe80::1',
  '64:ff9b::a00:1',
  'fd00::99',
  '2001:db8::1',
  '::1',
];

it('survives hostile IPv6 answers on ::1 and reports only the honest one', async () => {
  const socket = createSocket({ type: 'udp6', ipv6Only: true });
  let requests = 0;
  socket.on('message', (message, remote) => {
    requests++;
    const request = extended.decodeRequest(message);
    const send = (datagram: Buffer | string) => socket.send(datagram, remote.port, remote.address);
    for (let i = 0; i < 20; i++) send(randomBytes(i * 37));
    send('SERVER_IP:127.0.0.1:80');
    send('SERVER_IP:::1:80');
    if (!request) return;
    for (const address of CLAIMS) {
      const answer = extended.encodeAnswer({
        nonce: request.nonce,
        timestamp: Date.now(),
        address,
        port: 8080,
        metadata: { instanceId: `claims-${address}`, values: {} },
      });
      send(answer);
      send(answer.subarray(0, answer.length - 3));
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '::1', resolve));
  cleanup.push(() => socket.close());
  const options = {
    env: {},
    broadcast: false,
    targets: ['::1'],
    port: socket.address().port,
    timeout: 800,
  } as const;
  const started = performance.now();
  const strict = await discover(options);
  assert.ok(requests > 0);
  assert.ok(performance.now() - started < 3000, 'it did not end at its deadline');
  assert.deepEqual(
    strict.map((s) => [s.ip, s.url, s.foreign]),
    [['::1', 'http://[::1]:8080', false]],
  );
  // Kept when asked, foreign ones are marked; addresses that cannot be a server are not kept.
  const lax = await discover({ ...options, acceptForeignAddresses: true });
  for (const server of lax) {
    assert.equal(server.foreign, server.ip !== '::1', server.ip);
    assert.ok(server.addresses.every((a) => a.address === server.ip || a.family === 'IPv4'));
    assert.doesNotMatch(server.ip, /^(::$|ff|fe80::1$)/, lax.map((s) => s.ip).join());
  }
  assert.ok(lax.some((s) => s.ip === 'fd00::99'));
});
