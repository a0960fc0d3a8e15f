import { createSocket } from 'node:dgram';

/**
 * The local address the kernel would use to reach `ip`, found by connecting a UDP socket
 * (which sends nothing). Used for requesters outside every local subnet, e.g. behind a router.
 */
export function routeSourceAddress(ip: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const finish = (address: string | undefined) => {
      socket.close();
      resolve(address);
    };
    socket.once('error', () => finish(undefined));
    socket.connect(9, ip, () => finish(socket.address().address));
  });
}
