import { createSocket, type Socket, type SocketOptions } from 'node:dgram';

/** Creates UDP sockets; inject one to observe or wrap the sockets beckon opens. */
export type SocketFactory = (options: SocketOptions) => Socket;

/**
 * The `lookup` for sockets that only ever send to IP literals (a requester's address, a
 * broadcast address): it hands the address back at once. dgram's default goes through
 * `dns.lookup`, which costs a regular expression and a tick per datagram.
 */
export const literalLookup: NonNullable<SocketOptions['lookup']> = (address, _options, callback) =>
  callback(null, address, address.includes(':') ? 6 : 4);

/** `dgram.createSocket`. */
export const createUdpSocket: SocketFactory = (options) => createSocket(options);

/** Closes a socket and resolves once it is closed; a socket already closed resolves at once. */
export function closeSocket(socket: Socket | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!socket) return resolve();
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed, e.g. after an error
    }
  });
}
