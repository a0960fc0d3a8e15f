import { createUdpSocket, type SocketFactory } from './socket.js';

/**
 * The local address the kernel would use to reach `ip`, found by connecting a UDP socket
 * (which sends nothing), or undefined when there is no route or the lookup fails in any way
 * (no socket to be had, an `error` event). Never rejects. Used for requesters outside every
 * local subnet, e.g. behind a router, and to tag replies from unicast targets. `type` `udp6`
 * for an IPv6 `ip`.
 */
export function routeSourceAddress(
  ip: string,
  socketFactory: SocketFactory = createUdpSocket,
  type: 'udp4' | 'udp6' = 'udp4',
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let socket: ReturnType<SocketFactory> | undefined;
    const finish = (address: string | undefined) => {
      try {
        socket?.close();
      } catch {
        // already closed
      }
      resolve(address);
    };
    try {
      socket = socketFactory({ type });
      // A failing implicit bind (e.g. EMFILE) emits 'error' and never calls back.
      socket.once('error', () => finish(undefined));
      const connected = socket;
      connected.connect(9, ip, (error?: Error) => {
        finish(error ? undefined : connected.address().address);
      });
    } catch {
      finish(undefined);
    }
  });
}
