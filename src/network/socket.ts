import { createSocket, type Socket, type SocketOptions } from 'node:dgram';

/** Creates UDP sockets; inject one to observe or wrap the sockets beckon opens. */
export type SocketFactory = (options: SocketOptions) => Socket;

/** `dgram.createSocket`. */
export const createUdpSocket: SocketFactory = (options) => createSocket(options);
