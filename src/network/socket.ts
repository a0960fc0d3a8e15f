import { createSocket, type Socket, type SocketOptions } from 'node:dgram';

/** Creates UDP sockets; inject one to observe or wrap the sockets beckon opens. */
export type SocketFactory = (options: SocketOptions) => Socket;

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
