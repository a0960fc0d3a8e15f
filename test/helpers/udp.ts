/** Raw UDP peers for tests: everything stays on loopback. */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';

/** Options that keep a client on loopback and away from the host's environment. */
export const LOCAL = { interfaces: ['lo'], env: {} } as const;

/** A socket bound on loopback that records what it receives. */
export async function udpPeer(
  onMessage?: (message: Buffer, remote: RemoteInfo, socket: Socket) => void,
  address = '127.0.0.1',
): Promise<{ socket: Socket; port: number; received: Buffer[]; close: () => void }> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (message, remote) => {
    received.push(message);
    onMessage?.(message, remote, socket);
  });
  socket.bind(0, address);
  await once(socket, 'listening');
  return { socket, port: socket.address().port, received, close: () => socket.close() };
}

/** A UDP port on loopback that was free a moment ago. */
export async function freeUdpPort(): Promise<number> {
  const peer = await udpPeer();
  peer.close();
  return peer.port;
}

/** Sends `message` to 127.0.0.1:`port` and collects the replies for `waitMs`. */
export async function ask(port: number, message: string | Buffer, waitMs = 150): Promise<string[]> {
  const peer = await udpPeer();
  peer.socket.send(message, port, '127.0.0.1');
  await sleep(waitMs);
  peer.close();
  return peer.received.map(String);
}

/**
 * Sends each datagram from one socket on 127.0.0.1 to `port`, 10 ms apart (so they arrive in
 * order), and returns every reply received until `waitMs` after the last.
 */
export async function exchange(port: number, datagrams: Buffer[], waitMs = 150): Promise<Buffer[]> {
  const peer = await udpPeer();
  for (const datagram of datagrams) {
    peer.socket.send(datagram, port, '127.0.0.1');
    await sleep(10);
  }
  await sleep(waitMs);
  peer.close();
  return peer.received;
}

/** {@link exchange} over IPv6: from a udp6 socket on ::1 to [::1]:`port`. */
export async function exchange6(
  port: number,
  datagrams: Buffer[],
  waitMs = 300,
): Promise<Buffer[]> {
  const socket = createSocket('udp6');
  const received: Buffer[] = [];
  socket.on('message', (message) => received.push(message));
  socket.bind(0, '::1');
  await once(socket, 'listening');
  for (const datagram of datagrams) {
    socket.send(datagram, port, '::1');
    await sleep(10);
  }
  await sleep(waitMs);
  socket.close();
  return received;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
