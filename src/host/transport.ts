/**
 * How the host-local channel is carried (docs/many-services.md): by default a Unix domain socket
 * (node:net); injectable (the responder's `hostChannel` option) so that a simulated host
 * (`beckon/testing`) carries it in memory.
 */
import { existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { isAbstract } from './channel.js';

/**
 * One end of a channel connection: the subset of `net.Socket` that HostRegistry and
 * HostRegistrant use. Emits `connect` (the connecting end, once connected), `data` (strings,
 * after `setEncoding('utf8')`), `error` and `close` (always last).
 */
export interface HostChannelStream {
  setEncoding(encoding: 'utf8'): unknown;
  /** Queues `data`; returns false when the peer has not taken what was written before. */
  write(data: string): boolean;
  /** Sends what is queued, then closes the connection. */
  end(): unknown;
  /** Closes the connection now; the peer still reads what was written before. */
  destroy(): unknown;
  /** False once the connection ends or is destroyed. */
  readonly writable: boolean;
  /** Bytes written that the peer has not taken yet. */
  readonly writableLength: number;
  /** `end`: the peer ended its side (`close` follows). */
  on(event: 'connect' | 'close' | 'end', listener: () => void): unknown;
  on(event: 'data', listener: (chunk: string) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  once(event: 'connect' | 'close', listener: () => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
}

/** A channel listener, as {@link HostChannelTransport.listen} returns it. */
export interface HostChannelListener {
  /**
   * Stops accepting connections and frees the path. Open connections stay open; the promise
   * resolves once they have all closed (as `net.Server#close` does).
   */
  close(): Promise<void>;
}

/**
 * Carries the host-local channel: listens on a path and connects to it. The default is
 * {@link netHostChannel} (Unix domain sockets); inject another one only to run beckon on a
 * simulated host (`beckon/testing`), never in production.
 */
export interface HostChannelTransport {
  /**
   * Listens on `path`; every accepted connection is handed to `onConnection`, and errors of the
   * listener after it listens to `onError`. Rejects with an error whose `code` is `EADDRINUSE`
   * when another listener holds `path`.
   */
  listen(
    path: string,
    onConnection: (stream: HostChannelStream) => void,
    onError: (error: Error) => void,
  ): Promise<HostChannelListener>;
  /**
   * Connects to `path`: the stream emits `connect`, or `error` (code `ECONNREFUSED` or `ENOENT`
   * when nobody listens there) and then `close`.
   */
  connect(path: string): HostChannelStream;
}

/** The real channel: Unix domain sockets (a named pipe on Windows) through node:net. */
export const netHostChannel: HostChannelTransport = {
  async listen(path, onConnection, onError) {
    const fileBacked = !isAbstract(path) && process.platform !== 'win32';
    if (fileBacked && existsSync(path)) {
      if (await isLive(path))
        throw Object.assign(new Error(`${path} is in use`), { code: 'EADDRINUSE' });
      unlinkSync(path);
    }
    const server = createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: in a node:cluster worker the primary would otherwise hold the listening
      // socket, and it would outlive this worker (no takeover when the worker dies).
      server.listen({ path, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', onError);
    return {
      async close() {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        // A socket file is ours to remove once we listened on it (abstract names need nothing).
        if (!fileBacked) return;
        try {
          unlinkSync(path);
        } catch {
          // Already gone (Node may unlink it on close): nothing to do.
        }
      },
    };
  },
  connect: (path) => createConnection(path),
};

/** True when something accepts connections at the socket file `path`. */
function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
