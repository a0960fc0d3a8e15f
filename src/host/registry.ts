/**
 * HostRegistry: the answering process's side of the host-local channel. Keeps the records of
 * every connected registrant, for exactly as long as its connection lives.
 */
import { EventEmitter } from 'node:events';
import { InvalidOptionError } from '../errors.js';
import {
  decodeClientLine,
  dedupeRecords,
  encodeLine,
  errorMessage,
  HostLimits,
  type HostRecord,
  RecordError,
} from './records.js';
import {
  type HostChannelListener,
  type HostChannelStream,
  type HostChannelTransport,
  netHostChannel,
} from './transport.js';

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
  /**
   * What carries the channel. For tests and simulations only (`beckon/testing`).
   * @default netHostChannel (Unix domain sockets)
   */
  readonly transport?: HostChannelTransport;
}

/** Replies a connection may leave unread before it is closed. */
const MAX_UNREAD_REPLY_BYTES = 64 * 1024;
/** How long a signing request waits for its registrant's answer. */
const SIGN_WAIT_MS = 500;

type RegistryState = 'idle' | 'listening' | 'closed';

interface Connection {
  readonly socket: HostChannelStream;
  readonly records: Map<string, HostRecord>;
  buffer: string;
  errors: number;
  /** Refused for good: further data is dropped until the socket closes. */
  closing: boolean;
  /** Signing requests awaiting this registrant's answer, by id. */
  readonly signing: Map<number, (answer: Buffer | undefined) => void>;
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
  readonly #options: Required<Omit<HostRegistryOptions, 'transport'>>;
  readonly #transport: HostChannelTransport;
  readonly #connections = new Set<Connection>();
  #server: HostChannelListener | undefined;
  #lastSignId = 0;

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
    this.#transport = options.transport ?? netHostChannel;
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
    const server = await this.#transport.listen(
      this.#options.path,
      (socket) => this.#accept(socket),
      (error) => this.emit('warning', error),
    );
    this.#server = server;
    this.#state = 'listening';
  }

  /** Closes the listener and every connection (registrants see 'lost'). */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const connection of this.#connections) connection.socket.destroy();
    this.#connections.clear();
    await this.#server?.close(); // a socket file is removed (abstract names need nothing)
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #all(): HostRecord[] {
    const all: HostRecord[] = [];
    for (const connection of this.#connections) all.push(...connection.records.values());
    return all;
  }

  #accept(socket: HostChannelStream): void {
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
      signing: new Map(),
    };
    this.#connections.add(connection);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(connection, chunk));
    socket.on('error', () => {}); // 'close' follows; a client's reset is not our problem
    socket.on('close', () => {
      this.#connections.delete(connection);
      for (const settle of connection.signing.values()) settle(undefined);
      connection.signing.clear();
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

  /**
   * Asks the registrant of the keyed record `instanceId` to check `request` with its own keys
   * and sign the answer advertising `address`. Resolves that answer, or undefined when it does
   * not answer (not its key, a replay), is gone, is too slow (500 ms), or has too many requests
   * open already.
   */
  forward(instanceId: string, request: Buffer, address: string): Promise<Buffer | undefined> {
    let connection: Connection | undefined;
    for (const candidate of this.#connections) {
      if (candidate.records.get(instanceId)?.keyed) connection = candidate;
    }
    if (!connection || connection.closing || connection.signing.size >= HostLimits.pendingSigns) {
      return Promise.resolve(undefined);
    }
    const { signing } = connection;
    const id = ++this.#lastSignId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => settle(undefined), SIGN_WAIT_MS);
      const settle = (answer: Buffer | undefined) => {
        clearTimeout(timer);
        signing.delete(id);
        resolve(answer);
      };
      signing.set(id, settle);
      this.#reply(connection, {
        op: 'sign',
        id,
        instanceId,
        request: request.toString('base64'),
        address,
      });
    });
  }

  #line(connection: Connection, line: string): void {
    try {
      const message = decodeClientLine(line);
      if (message.op === 'signed') {
        // A late answer (its request timed out) finds nothing to settle: ignored.
        const answer =
          message.answer === undefined ? undefined : Buffer.from(message.answer, 'base64');
        connection.signing.get(message.id)?.(answer);
        return;
      }
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
