/** beckon/testing: the simulated socket's dgram surface (errors, forms, connect, memberships). */
import assert from 'node:assert/strict';
import type { Socket } from 'node:dgram';
import { describe, it } from 'node:test';
import { createTestNetwork } from '../../src/testing/index.js';

function setup() {
  const network = createTestNetwork();
  const lan = network.lan({ name: 'lan', ipv4: '10.0.0.0/24', ipv6: 'fd00:1::/64' });
  const a = network.host({ name: 'a', interfaces: [{ lan, ipv4: '10.0.0.1', ipv6: 'fd00:1::1' }] });
  const b = network.host({ name: 'b', interfaces: [{ lan, ipv4: '10.0.0.2', ipv6: 'fd00:1::2' }] });
  return { network, lan, a, b };
}

const bound = (socket: Socket, port = 0, address?: string) =>
  new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, address, () => {
      socket.off('error', reject);
      resolve();
    });
  });

describe('beckon/testing: the simulated socket', () => {
  it('address() before bind throws EBADF; port 0 takes an ephemeral port; close twice throws', async () => {
    const { a } = setup();
    const socket = a.socketFactory({ type: 'udp4' });
    assert.throws(() => socket.address(), { code: 'EBADF' });
    await bound(socket);
    const { address, family, port } = socket.address();
    assert.deepEqual([address, family], ['0.0.0.0', 'IPv4']);
    assert.ok(port >= 32768 && port <= 60999, String(port));
    await new Promise<void>((resolve) => socket.close(resolve));
    assert.throws(() => socket.close(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
    // After close, as node:dgram answers (checked on Node 20).
    assert.throws(() => socket.address(), { code: 'ERR_SOCKET_DGRAM_NOT_RUNNING' });
  });

  it('binding an address the host does not have fails with EADDRNOTAVAIL', async () => {
    const { a } = setup();
    await assert.rejects(bound(a.socketFactory({ type: 'udp4' }), 7000, '10.0.0.2'), {
      code: 'EADDRNOTAVAIL',
    });
  });

  it('sends with offset and length, reports remote info like Node, over IPv6 too', async () => {
    const { a, b } = setup();
    const receiver = b.socketFactory({ type: 'udp6', ipv6Only: true });
    await bound(receiver, 7000, '::');
    const got = new Promise<[string, object]>((resolve) =>
      receiver.once('message', (message, remote) => resolve([message.toString(), remote])),
    );
    const sender = a.socketFactory({ type: 'udp6', ipv6Only: true });
    await bound(sender, 0, 'fd00:1::1');
    sender.send(Buffer.from('xxhello'), 2, 5, 7000, 'fd00:1::2');
    const [text, remote] = await got;
    assert.equal(text, 'hello');
    assert.deepEqual(remote, {
      address: 'fd00:1::1',
      family: 'IPv6',
      port: sender.address().port,
      size: 5,
    });
    sender.close();
    receiver.close();
  });

  it('connect: remoteAddress, address toward the target, only its datagrams; disconnect', async () => {
    const { a, b } = setup();
    const socket = a.socketFactory({ type: 'udp4' });
    assert.throws(() => socket.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    await new Promise<void>((resolve, reject) =>
      socket.connect(7000, '10.0.0.2', (error?: Error) => (error ? reject(error) : resolve())),
    );
    assert.equal(socket.address().address, '10.0.0.1');
    assert.throws(() => socket.connect(7000, '10.0.0.2'), {
      code: 'ERR_SOCKET_DGRAM_IS_CONNECTED',
    });
    assert.deepEqual(socket.remoteAddress(), { address: '10.0.0.2', family: 'IPv4', port: 7000 });
    const heard: string[] = [];
    socket.on('message', (message) => heard.push(message.toString()));
    const peer = b.socketFactory({ type: 'udp4' });
    await bound(peer, 7000);
    const stranger = b.socketFactory({ type: 'udp4' });
    await bound(stranger, 7001);
    const port = socket.address().port;
    peer.send('from peer', port, '10.0.0.1');
    stranger.send('from stranger', port, '10.0.0.1');
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(heard, ['from peer']);
    socket.disconnect();
    assert.throws(() => socket.remoteAddress(), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    for (const s of [socket, peer, stranger]) s.close();
  });

  it('memberships: joining twice is EADDRINUSE, leaving what was not joined EADDRNOTAVAIL', async () => {
    const { a, b } = setup();
    const member = b.socketFactory({ type: 'udp4', reuseAddr: true });
    await bound(member, 7000);
    const heard: string[] = [];
    member.on('message', (message) => heard.push(message.toString()));
    const sender = a.socketFactory({ type: 'udp4' });
    await bound(sender);
    sender.setMulticastInterface('10.0.0.1');
    sender.send('before', 7000, '239.255.98.107');
    await new Promise((resolve) => setTimeout(resolve, 10));
    member.addMembership('239.255.98.107', '10.0.0.2');
    assert.throws(() => member.addMembership('239.255.98.107', '10.0.0.2'), { code: 'EADDRINUSE' });
    // Not a group, or an IPv6 group on an IPv4 socket: EINVAL, as Linux answers.
    assert.throws(() => member.addMembership('10.0.0.9', '10.0.0.2'), { code: 'EINVAL' });
    assert.throws(() => member.addMembership('ff12::1', '10.0.0.2'), { code: 'EINVAL' });
    sender.send('joined', 7000, '239.255.98.107');
    await new Promise((resolve) => setTimeout(resolve, 10));
    member.dropMembership('239.255.98.107', '10.0.0.2');
    assert.throws(() => member.dropMembership('239.255.98.107', '10.0.0.2'), {
      code: 'EADDRNOTAVAIL',
    });
    sender.send('left', 7000, '239.255.98.107');
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(heard, ['joined']);
    assert.equal(member.getRecvBufferSize() > 0, true);
    member.setRecvBufferSize(1 << 20);
    assert.equal(member.getRecvBufferSize(), 1 << 20);
    member.close();
    sender.close();
  });
});
