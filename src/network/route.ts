import { createUdpSocket, type SocketFactory } from './socket.js';

/**
 * The local address the kernel would use to reach `ip`, found by connecting a UDP socket
 * (which sends nothing), or undefined when there is no route. Used for requesters outside
 * every local subnet, e.g. behind a router.
 */
export function routeSourceAddress(
  ip: string,
  socketFactory: SocketFactory = createUdpSocket,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = socketFactory({ type: 'udp4' });
    socket.connect(9, ip, (error?: Error) => {
      const address = error ? undefined : socket.address().address;
      socket.close();
      resolve(address);
    });
  });
}
