/**
 * The IPv4 client and extended answers carrying an IPv6 address (address6, docs/protocol.md):
 * until the IPv6 client exists (docs/ipv6.md), such an answer is ignored, even with
 * acceptForeignAddresses, instead of becoming a server whose `ip` and `url` are broken.
 * Everything stays on 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { afterEach, it } from 'node:test';
import { discover } from '../../src/client/discover.js';
import * as extended from '../../src/protocol/extended.js';
import { LOCAL, udpPeer } from '../helpers/udp.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const task of cleanup.splice(0)) task();
});

it('an extended answer with an IPv6 address is dropped; its IPv4 twin is reported', async () => {
  const peer = await udpPeer((message, remote, socket) => {
    const request = extended.decodeRequest(message);
    if (!request) return;
    for (const address of ['fd00::10', '::1', '127.0.0.1']) {
      const answer = extended.encodeAnswer({
        nonce: request.nonce,
        timestamp: Date.now(),
        address,
        port: 8080,
        metadata: { instanceId: `i-${address}`, values: {} },
      });
      socket.send(answer, remote.port, remote.address);
    }
  });
  cleanup.push(peer.close);
  const servers = await discover({
    ...LOCAL,
    broadcast: false,
    targets: ['127.0.0.1'],
    port: peer.port,
    timeout: 600,
    extended: true,
    acceptForeignAddresses: true,
  });
  assert.ok(peer.received.length > 0);
  assert.deepEqual(
    servers.map((s) => [s.ip, s.url, s.metadata?.instanceId]),
    [['127.0.0.1', 'http://127.0.0.1:8080', 'i-127.0.0.1']],
  );
});
