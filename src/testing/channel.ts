/**
 * A simulated host's host-local channel (docs/many-services.md), in memory: what carries
 * `shareHost` between the responders of one simulated host, as the Unix domain socket does on a
 * real one. Everything is delivered with `process.nextTick`, never a timer, so that mocked timers
 * (node:test `mock.timers`, Vitest fake timers) neither stall nor drive it: a connection, its
 * lines and its close arrive before any timer, as local socket I/O does.
 */
import { EventEmitter } from 'node:events';
import type {
  HostChannelListener,
  HostChannelStream,
  HostChannelTransport,
} from '../host/transport.js';
import { systemError } from './errors.js';

/** A listener: where accepted connections go, and those still open. */
interface Listening {
  readonly accept: (stream: HostChannelStream) => void;
  readonly open: Set<ChannelStream>;
  /** Resolves `close()` once the last accepted connection closed. */
  drained: (() => void) | undefined;
}

/** The end of the peer's data: after it, the stream ends and closes. */
const EOF = Symbol('eof');

type StreamState = 'connecting' | 'open' | 'ending' | 'closed';

/** Bytes written by `from`, on their way to its peer. */
interface Chunk {
  readonly data: Buffer;
  readonly from: ChannelStream;
}

/** One end of an in-memory channel connection; see {@link HostChannelStream}. */
export class ChannelStream extends EventEmitter implements HostChannelStream {
  /** @internal The other end, once connected. */
  peer: ChannelStream | undefined;
  #state: StreamState;
  #encoding: 'utf8' | undefined;
  /** Received and not yet handed to a `data` listener (a paused stream keeps it, as Node's). */
  readonly #inbox: (Chunk | typeof EOF)[] = [];
  #flushing = false;
  /** Bytes written that the peer has not taken yet. */
  #unread = 0;

  /** @internal */
  constructor(state: 'connecting' | 'open') {
    super();
    this.#state = state;
    // A paused stream holds what arrives; the first `data` listener lets it flow.
    this.on('newListener', (event: string) => {
      if (event === 'data') this.#flush();
    });
  }

  /** False once the stream ends or is destroyed. */
  get writable(): boolean {
    return this.#state === 'connecting' || this.#state === 'open';
  }

  /** Bytes written that the peer has not taken yet (a paused peer takes nothing). */
  get writableLength(): number {
    return this.#unread;
  }

  /** Whether `destroy()` was called or the connection closed. */
  get destroyed(): boolean {
    return this.#state === 'closed';
  }

  setEncoding(encoding: 'utf8'): this {
    this.#encoding = encoding;
    return this;
  }

  /** Queues `data` for the peer (delivered on a later tick); false when not writable. */
  write(data: string | Uint8Array): boolean {
    if (!this.writable) {
      if (this.#state === 'ending') {
        const error = Object.assign(new Error('write after end'), {
          code: 'ERR_STREAM_WRITE_AFTER_END',
        });
        process.nextTick(() => this.emit('error', error));
      }
      return false;
    }
    const chunk = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
    this.#unread += chunk.length;
    this.#toPeer({ data: chunk, from: this });
    return true;
  }

  /** Sends what is queued, then the end; the connection closes once the peer ends too. */
  end(): this {
    if (!this.writable) return this;
    this.#state = 'ending';
    this.#toPeer(EOF);
    return this;
  }

  /** Closes at once; the peer still reads what was written before, then ends and closes. */
  destroy(): this {
    if (this.#state === 'closed') return this;
    const ended = this.#state === 'ending';
    this.#close();
    if (!ended) this.#toPeer(EOF);
    return this;
  }

  /** @internal The connection attempt failed: `error`, then `close`. */
  fail(error: Error): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    process.nextTick(() => {
      this.emit('error', error);
      this.emit('close', true);
    });
  }

  /** @internal Connected: `connect`, unless destroyed meanwhile. */
  connected(): void {
    if (this.#state !== 'connecting') return;
    this.#state = 'open';
    this.emit('connect');
  }

  #close(): void {
    this.#state = 'closed';
    this.#inbox.length = 0;
    process.nextTick(() => this.emit('close', false));
  }

  #toPeer(item: Chunk | typeof EOF): void {
    if (this.peer) this.peer.#arrive(item);
  }

  /** Data or the end from the peer, handed on on a later tick. */
  #arrive(item: Chunk | typeof EOF): void {
    if (this.#state === 'closed') return;
    this.#inbox.push(item);
    this.#flush();
  }

  #flush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    process.nextTick(() => {
      this.#flushing = false;
      while (this.#inbox.length > 0 && this.#state !== 'closed') {
        if (this.listenerCount('data') === 0) return; // paused: kept until someone reads
        const item = this.#inbox.shift() as Chunk | typeof EOF;
        if (item === EOF) {
          this.#ended();
          return;
        }
        // Unread by its writer until a `data` listener here takes it.
        item.from.#unread -= item.data.length;
        this.emit('data', this.#encoding ? item.data.toString(this.#encoding) : item.data);
      }
    });
  }

  /** The peer's end arrived: `end`; this end ends too (no half-open connections), and closes. */
  #ended(): void {
    this.emit('end');
    if (this.#state === 'closed') return;
    if (this.#state !== 'ending') this.#toPeer(EOF);
    this.#close();
  }
}

/**
 * The host-local channel of one simulated host: listeners by path, and connections as pairs of
 * in-memory streams. Given as beckon's `hostChannel` option by `network.responderOptions(host)`.
 */
export class TestHostChannel implements HostChannelTransport {
  readonly #listeners = new Map<string, Listening>();

  /** Listens on `path`; rejects with `EADDRINUSE` when a listener of this host holds it. */
  async listen(
    path: string,
    onConnection: (stream: HostChannelStream) => void,
    _onError: (error: Error) => void,
  ): Promise<HostChannelListener> {
    // The name is taken at once, as listen(2) takes it, before the promise settles.
    if (this.#listeners.has(path)) throw systemError('EADDRINUSE', 'listen', path);
    const listening: Listening = { accept: onConnection, open: new Set(), drained: undefined };
    this.#listeners.set(path, listening);
    await new Promise<void>((resolve) => process.nextTick(resolve));
    return {
      // As net.Server's close(): no new connections at once; resolves when the open ones closed.
      close: () => {
        if (this.#listeners.get(path) === listening) this.#listeners.delete(path);
        if (listening.open.size === 0) return Promise.resolve();
        return new Promise<void>((resolve) => {
          const before = listening.drained;
          listening.drained = () => {
            before?.();
            resolve();
          };
        });
      },
    };
  }

  /** Connects to `path`: `connect` on a later tick, or `ECONNREFUSED` when nobody listens. */
  connect(path: string): HostChannelStream {
    const client = new ChannelStream('connecting');
    const listening = this.#listeners.get(path);
    if (!listening) {
      client.fail(systemError('ECONNREFUSED', 'connect', path));
      return client;
    }
    const server = new ChannelStream('open');
    client.peer = server;
    server.peer = client;
    process.nextTick(() => {
      if (client.destroyed) {
        server.destroy(); // gave up before it was accepted
        return;
      }
      if (this.#listeners.get(path) !== listening) {
        // The listener closed before accepting it.
        server.destroy();
        client.connected();
        return;
      }
      listening.open.add(server);
      server.once('close', () => {
        listening.open.delete(server);
        if (listening.open.size === 0) listening.drained?.();
      });
      listening.accept(server);
      client.connected();
    });
    return client;
  }
}
