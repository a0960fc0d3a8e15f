/**
 * HostRegistry: the answering process's side of the host-local channel. Keeps the records of
 * every connected registrant, for exactly as long as its connection lives.
 */
import { EventEmitter } from 'node:events';
import { existsSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { InvalidOptionError } from '../errors.js';
import { isAbstract } from './channel.js';
import {
  decodeClientLine,
  dedupeRecords,
  encodeLine,
  errorMessage,
  HostLimits,
  type HostRecord,
  RecordError,
} from './records.js';

/** Events of a {@link HostRegistry}. */
export interface HostRegistryEvents {
  /** The records that count (deduplicated), after any register, unregister or disconnect. */
  change: [records: HostRecord[]];
  /** A client was refused or a socket failed; the registry goes on. Never holds a secret. */
  warning: [error: Error];
}

/** Options of {@link HostRegistry}. */
export interface HostRegistryOptions {
  /** Channel path or abstract name (`\0...`); see channelPath(). */
  readonly path: string;
  /** Most records for the host. @default HostLimits.recordsPerHost */
  readonly maxRecords?: number;
  /** Most records per connection. @default HostLimits.recordsPerConnection */
  readonly maxPerConnection?: number;
  /** Refused lines after which a connection is closed. @default 8 */
  readonly maxErrorsPerConnection?: number;
}

/** Replies a connection may leave unread before it is closed. */
const MAX_UNREAD_REPLY_BYTES = 64 * 1024;

type RegistryState = 'idle' | 'listening' | 'closed';

interface Connection {
  readonly socket: Socket;
  readonly records: Map<string, HostRecord>;
  buffer: string;
  errors: number;
  /** Refused for good: further data is dropped until the socket closes. */
  closing: boolean;
}

/**
 * Listens on the channel and keeps records per connection. Never crashes on a bad client: a bad
 * line gets an error line back; too many bad lines, or an over-long line, closes that connection.
 *
 * @example
 * const registry = new HostRegistry({ path: channelPath(9999) });
 * registry.on('change', (records) => answerFor(records));
 * await registry.listen();
 */
export class HostRegistry extends EventEmitter<HostRegistryEvents> {
  #state: RegistryState = 'idle';
  readonly #options: Required<HostRegistryOptions>;
  readonly #connections = new Set<Connection>();
  #server: Server | undefined;

  /** @throws InvalidOptionError for an empty `path` or a bound that is not a positive integer. */
  constructor(options: HostRegistryOptions) {
    super();
    if (typeof options.path !== 'string' || options.path.length === 0) {
      throw new InvalidOptionError('path', options.path, 'a socket path or an abstract name');
    }
    this.#options = {
      path: options.path,
      maxRecords: count('maxRecords', options.maxRecords, HostLimits.recordsPerHost),
      maxPerConnection: count(
        'maxPerConnection',
        options.maxPerConnection,
        HostLimits.recordsPerConnection,
      ),
      maxErrorsPerConnection: count('maxErrorsPerConnection', options.maxErrorsPerConnection, 8),
    };
  }

  /** 'idle', 'listening' or 'closed'. */
  get state(): RegistryState {
    return this.#state;
  }

  /** The records that count now (deduplicated). */
  get records(): HostRecord[] {
    return dedupeRecords(this.#all());
  }

  /**
   * Starts listening. A socket file left by a dead registry is removed; a live one (or an
   * abstract name in use) rejects with EADDRINUSE: another process answers for this host.
   */
  async listen(): Promise<void> {
    if (this.#state !== 'idle') throw new Error(`HostRegistry cannot listen when ${this.#state}`);
    const { path } = this.#options;
    if (!isAbstract(path) && process.platform !== 'win32' && existsSync(path)) {
      if (await isLive(path))
        throw Object.assign(new Error(`${path} is in use`), { code: 'EADDRINUSE' });
      unlinkSync(path);
    }
    const server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // exclusive: in a node:cluster worker, listen(path) would otherwise be handed to the
      // primary, which then holds the channel (and outlives the answering worker).
      server.listen({ path, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.emit('warning', error));
    this.#server = server;
    this.#state = 'listening';
  }

  /** Closes the listener and every connection (registrants see 'lost'). */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const connection of this.#connections) connection.socket.destroy();
    this.#connections.clear();
    const server = this.#server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    this.#removeFile();
  }

  /** A socket file is ours to remove once we listened on it (abstract names need nothing). */
  #removeFile(): void {
    const { path } = this.#options;
    if (!this.#server || isAbstract(path) || process.platform === 'win32') return;
    try {
      unlinkSync(path);
    } catch {
      // Already gone (Node may unlink it on close): nothing to do.
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #all(): HostRecord[] {
    const all: HostRecord[] = [];
    for (const connection of this.#connections) all.push(...connection.records.values());
    return all;
  }

  #accept(socket: Socket): void {
    if (this.#state !== 'listening') {
      socket.destroy();
      return;
    }
    const connection: Connection = {
      socket,
      records: new Map(),
      buffer: '',
      errors: 0,
      closing: false,
    };
    this.#connections.add(connection);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(connection, chunk));
    socket.on('error', () => {}); // 'close' follows; a client's reset is not our problem
    socket.on('close', () => {
      this.#connections.delete(connection);
      if (connection.records.size > 0 && this.#state === 'listening') this.#changed();
    });
  }

  #receive(connection: Connection, chunk: string): void {
    if (connection.closing) return;
    connection.buffer += chunk;
    let newline = connection.buffer.indexOf('\n');
    while (newline !== -1 && !connection.closing) {
      const line = connection.buffer.slice(0, newline);
      connection.buffer = connection.buffer.slice(newline + 1);
      this.#line(connection, line);
      newline = connection.buffer.indexOf('\n');
    }
    if (!connection.closing && Buffer.byteLength(connection.buffer) > HostLimits.lineBytes) {
      this.#refuse(
        connection,
        new RecordError('line-too-long', `Line longer than ${HostLimits.lineBytes} bytes`),
        true,
      );
    }
  }

  #line(connection: Connection, line: string): void {
    try {
      const message = decodeClientLine(line);
      if (message.op === 'unregister') {
        const had = connection.records.delete(message.instanceId);
        this.#reply(connection, { op: 'ok', instanceId: message.instanceId });
        if (had) this.#changed();
        return;
      }
      const { record } = message;
      const replacing = connection.records.has(record.instanceId);
      if (!replacing && connection.records.size >= this.#options.maxPerConnection) {
        throw new RecordError(
          'too-many-records',
          `At most ${this.#options.maxPerConnection} records per connection`,
        );
      }
      if (!replacing && this.#count() >= this.#options.maxRecords) {
        throw new RecordError('host-full', `At most ${this.#options.maxRecords} records per host`);
      }
      connection.records.set(record.instanceId, record);
      this.#reply(connection, { op: 'ok', instanceId: record.instanceId });
      this.#changed();
    } catch (error) {
      if (error instanceof RecordError) {
        this.#refuse(connection, error, false);
        return;
      }
      // Not expected; still, one client's line must never take the answering process down.
      this.emit('warning', error instanceof Error ? error : new Error(String(error)));
      connection.closing = true;
      connection.socket.destroy();
    }
  }

  #count(): number {
    let count = 0;
    for (const connection of this.#connections) count += connection.records.size;
    return count;
  }

  #refuse(connection: Connection, error: RecordError, close: boolean): void {
    this.emit('warning', error);
    this.#reply(connection, errorMessage(error));
    connection.errors += 1;
    if (close || connection.errors >= this.#options.maxErrorsPerConnection) {
      connection.closing = true;
      connection.buffer = '';
      connection.socket.end();
      setTimeout(() => connection.socket.destroy(), 1000).unref();
    }
  }

  #reply(connection: Connection, message: Parameters<typeof encodeLine>[0]): void {
    const { socket } = connection;
    if (!socket.writable) return;
    // A client that writes but never reads would make us buffer replies without end: cut it off.
    if (socket.writableLength > MAX_UNREAD_REPLY_BYTES) {
      this.emit(
        'warning',
        new RecordError('line-too-long', 'A registrant does not read its replies'),
      );
      connection.closing = true;
      socket.destroy();
      return;
    }
    socket.write(`${encodeLine(message)}\n`);
  }

  #changed(): void {
    this.emit('change', this.records);
  }
}

/** A positive integer option, or `fallback` when unset. @throws InvalidOptionError */
function count(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidOptionError(option, value, 'a positive integer');
  }
  return value;
}

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
