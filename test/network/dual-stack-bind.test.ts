/**
 * The socket layout docs/ipv6.md plans for the responder, checked on loopback: an IPv6 socket
 * needs `ipv6Only: true` to share a port with the IPv4 socket (a dual-stack one gets
 * EADDRINUSE, with or without reuseAddr), and then each family arrives on its own socket, so no
 * IPv4-mapped source ever reaches the IPv6 one.
 */
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from 'node:dgram';
import { afterEach, it } from 'node:test';
import { sleep } from '../helpers/udp.js';

const open: Socket[] = [];
afterEach(() => {
  for (const socket of open.splice(0)) socket.close();
});

async function bind(
  options: SocketOptions,
  port: number,
  address: string,
): Promise<Socket | string> {
  const socket = createSocket(options);
  return new Promise((resolve) => {
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code ?? 'error');
    });
    socket.bind(port, address, () => {
      open.push(socket);
      resolve(socket);
    });
  });
}

it('an ipv6Only socket shares the IPv4 port; each family arrives on its own socket', async (t) => {
  const v4 = await bind({ type: 'udp4' }, 0, '0.0.0.0');
  assert.ok(typeof v4 !== 'string');
  const port = v4.address().port;
  assert.equal(await bind({ type: 'udp6' }, port, '::'), 'EADDRINUSE');
  assert.equal(await bind({ type: 'udp6', reuseAddr: true }, port, '::'), 'EADDRINUSE');
  const v6 = await bind({ type: 'udp6', ipv6Only: true }, port, '::');
  if (v6 === 'EAFNOSUPPORT' || v6 === 'EADDRNOTAVAIL') {
    t.skip('no IPv6 on this host');
    return;
  }
  assert.ok(typeof v6 !== 'string', `ipv6Only bind: ${v6}`);

  const seen: string[] = [];
  const record = (family: string) => (_message: Buffer, remote: RemoteInfo) =>
    seen.push(`${family} <- ${remote.address}`);
  v4.on('message', record('udp4'));
  v6.on('message', record('udp6'));
  const sender4 = await bind({ type: 'udp4' }, 0, '127.0.0.1');
  const sender6 = await bind({ type: 'udp6' }, 0, '::1');
  assert.ok(typeof sender4 !== 'string' && typeof sender6 !== 'string');
  sender4.send('x', port, '127.0.0.1');
  sender6.send('x', port, '::1');
  for (let waited = 0; seen.length < 2 && waited < 5000; waited += 20) await sleep(20);
  await sleep(50);
  assert.deepEqual(seen.sort(), ['udp4 <- 127.0.0.1', 'udp6 <- ::1']);
});
