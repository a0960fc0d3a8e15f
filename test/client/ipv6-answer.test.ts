/**
 * Extended answers carrying an IPv6 address (address6, docs/protocol.md): one that claims the
 * address it came from is a server with a bracketed URL; one that claims another is foreign,
 * dropped unless `acceptForeignAddresses`; and answers of one instance are one server. Everything
 * stays on 127.0.0.1 and ::1.
 */
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { afterEach, it } from 'node:test';
import { discover } from '../../src/client/discover.js';
import * as extended from '../../src/protocol/extended.js';
import { LOCAL, udpPeer } from '../helpers/udp.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const task of cleanup.splice(0)) task();
});

const answerWith =
  (addresses: readonly string[], instanceOf: (address: string) => string) =>
  (message: Buffer, remote: RemoteInfo, socket: Socket) => {
    const request = extended.decodeRequest(message);
    if (!request) return;
    for (const address of addresses) {
      const answer = extended.encodeAnswer({
        nonce: request.nonce,
        timestamp: Date.now(),
        address,
        port: 8080,
        metadata: { instanceId: instanceOf(address), values: {} },
      });
      socket.send(answer, remote.port, remote.address);
    }
  };

it('over IPv4, answers claiming IPv6 addresses are foreign: dropped, or kept when asked', async () => {
  const peer = await udpPeer(answerWith(['fd00::10', '::1', '127.0.0.1'], (a) => `i-${a}`));
  cleanup.push(peer.close);
  const options = {
    ...LOCAL,
    broadcast: false,
    targets: ['127.0.0.1'],
    port: peer.port,
    timeout: 600,
    extended: true,
  } as const;
  const strict = await discover(options);
  assert.ok(peer.received.length > 0);
  assert.deepEqual(
    strict.map((s) => [s.ip, s.url, s.foreign]),
    [['127.0.0.1', 'http://127.0.0.1:8080', false]],
  );
  const lax = await discover({ ...options, acceptForeignAddresses: true });
  assert.deepEqual(lax.map((s) => [s.ip, s.family, s.url, s.foreign]).sort(), [
    ['127.0.0.1', 'IPv4', 'http://127.0.0.1:8080', false],
    ['::1', 'IPv6', 'http://[::1]:8080', true],
    ['fd00::10', 'IPv6', 'http://[fd00::10]:8080', true],
  ]);
});

it('over IPv6, an answer from ::1 is a server at [::1], tagged with the loopback interface', async () => {
  const socket = createSocket({ type: 'udp6', ipv6Only: true });
  const onMessage = answerWith(['::1'], () => 'one-instance');
  socket.on('message', (message, remote) => onMessage(message, remote, socket));
  await new Promise<void>((resolve) => socket.bind(0, '::1', resolve));
  cleanup.push(() => socket.close());
  const port = socket.address().port;
  const [six] = await discover({
    ...LOCAL,
    broadcast: false,
    targets: ['::1'],
    port,
    timeout: 400,
  });
  assert.deepEqual(
    [six?.ip, six?.family, six?.url, six?.interface, six?.metadata?.instanceId],
    ['::1', 'IPv6', 'http://[::1]:8080', 'lo', 'one-instance'],
  );
  assert.deepEqual(
    six?.addresses.map((a) => a.address),
    ['::1'],
  );
});
