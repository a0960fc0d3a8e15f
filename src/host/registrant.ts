/**
 * HostRegistrant: a beckon process's side of the host-local channel. Hands its records to the
 * answering process; reports 'lost' when that process goes away (the start of failover).
 */
import { EventEmitter } from 'node:events';
import { InvalidOptionError } from '../errors.js';
import {
  decodeServerLine,
  encodeLine,
  HostLimits,
  type HostRecord,
  RecordError,
  type ServerMessage,
  validateRecord,
} from './records.js';
import { type HostChannelStream, type HostChannelTransport, netHostChannel } from './transport.js';

/** Events of a {@link HostRegistrant}. */
export interface HostRegistrantEvents {
  /** The registry closed the connection (it stopped or died): its records are gone there. */
  lost: [];
  /** The registry refused a line, or sent one we cannot read. */
  warning: [error: Error];
  /** A signed request for this registrant's keyed record: answer it with {@link HostRegistrant.signed}. */
  sign: [request: SignRequest];
}

/** A request the answering process hands over for a keyed record (see SignMessage). */
export interface SignRequest {
  readonly id: number;
  readonly instanceId: string;
  readonly request: Buffer;
  /** The address the answer would advertise. */
  readonly address: string;
}

/** Options of {@link HostRegistrant}. */
export interface HostRegistrantOptions {
  /** Channel path or abstract name; see channelPath(). */
  readonly path: string;
  /** Closes the registrant when aborted. */
  readonly signal?: AbortSignal;
  /**
   * What carries the channel. For tests and simulations only (`beckon/testing`).
   * @default netHostChannel (Unix domain sockets)
   */
  readonly transport?: HostChannelTransport;
}

type RegistrantState = 'idle' | 'connecting' | 'connected' | 'lost' | 'closed';

interface Pending {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
}

/**
 * One connection to the registry. Records live exactly as long as the connection.
 *
 * @example
 * const registrant = new HostRegistrant({ path: channelPath(9999) });
 * await registrant.connect();
 * await registrant.register({ instanceId, httpPort: 8080, pid: process.pid });
 * registrant.once('lost', () => tryToTakeOver());
 */
export class HostRegistrant extends EventEmitter<HostRegistrantEvents> {
  #state: RegistrantState = 'idle';
  readonly #path: string;
  readonly #signal: AbortSignal | undefined;
  readonly #transport: HostChannelTransport;
  #socket: HostChannelStream | undefined;
  #buffer = '';
  /** Requests awaiting the registry's answer, in order (the registry answers in order). */
  readonly #pending: Pending[] = [];
  readonly #onAbort = () => void this.close();

  /** @throws InvalidOptionError for an empty `path`. */
  constructor(options: HostRegistrantOptions) {
    super();
    if (typeof options.path !== 'string' || options.path.length === 0) {
      throw new InvalidOptionError('path', options.path, 'a socket path or an abstract name');
    }
    this.#path = options.path;
    this.#signal = options.signal;
    this.#transport = options.transport ?? netHostChannel;
  }

  /** 'idle', 'connecting', 'connected', 'lost' or 'closed'. */
  get state(): RegistrantState {
    return this.#state;
  }

  /**
   * Connects; rejects with the OS error (ECONNREFUSED, ENOENT: no registry) or `signal.reason`.
   */
  async connect(): Promise<void> {
    if (this.#state !== 'idle')
      throw new Error(`HostRegistrant cannot connect when ${this.#state}`);
    this.#signal?.throwIfAborted();
    this.#state = 'connecting';
    const socket = this.#transport.connect(this.#path);
    this.#socket = socket;
    socket.setEncoding('utf8');
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', (error: Error) => reject(error));
      });
    } catch (error) {
      this.#state = 'closed';
      socket.destroy();
      throw error;
    }
    if (this.#signal?.aborted) {
      this.close();
      throw this.#signal.reason;
    }
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    this.#state = 'connected';
    socket.on('data', (chunk: string) => this.#receive(chunk));
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.#closed());
  }

  /** Registers (or replaces) `record`; resolves when the registry accepts it. @throws RecordError */
  register(record: HostRecord): Promise<void> {
    const checked = validateRecord(record);
    return this.#send({ op: 'register', record: checked });
  }

  /** Removes the record with `instanceId` at once. */
  unregister(instanceId: string): Promise<void> {
    return this.#send({ op: 'unregister', instanceId });
  }

  /** Answers sign request `id` with a signed datagram, or with none (not answered). */
  signed(id: number, answer: Buffer | undefined): void {
    if (this.#state !== 'connected' || !this.#socket) return;
    const message =
      answer === undefined
        ? ({ op: 'signed', id } as const)
        : ({ op: 'signed', id, answer: answer.toString('base64') } as const);
    this.#socket.write(`${encodeLine(message)}\n`);
  }

  /** Closes the connection; the registry drops every record of this registrant at once. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#socket?.destroy();
    this.#failPending(new Error('HostRegistrant closed'));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #send(message: Parameters<typeof encodeLine>[0]): Promise<void> {
    if (this.#state !== 'connected' || !this.#socket) {
      return Promise.reject(new Error(`HostRegistrant is ${this.#state}, not connected`));
    }
    const line = encodeLine(message);
    const socket = this.#socket;
    return new Promise((resolve, reject) => {
      this.#pending.push({ resolve, reject });
      socket.write(`${line}\n`);
    });
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    let newline = this.#buffer.indexOf('\n');
    while (newline !== -1) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      this.#answer(line);
      newline = this.#buffer.indexOf('\n');
    }
    if (Buffer.byteLength(this.#buffer) > HostLimits.lineBytes) {
      this.emit('warning', new RecordError('line-too-long', 'The registry sent an over-long line'));
      this.close();
    }
  }

  #answer(line: string): void {
    let message: ServerMessage;
    try {
      message = decodeServerLine(line);
    } catch (error) {
      this.emit('warning', error as Error);
      return;
    }
    if (message.op === 'sign') {
      const { id, instanceId, request, address } = message;
      this.emit('sign', { id, instanceId, request: Buffer.from(request, 'base64'), address });
      return;
    }
    const pending = this.#pending.shift();
    if (message.op === 'ok') {
      pending?.resolve();
      return;
    }
    const error = new RecordError(message.reason, message.message);
    if (pending) pending.reject(error);
    else this.emit('warning', error);
  }

  #closed(): void {
    if (this.#state !== 'connected') return;
    this.#state = 'lost';
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#failPending(new Error('The host registry went away'));
    this.emit('lost');
  }

  #failPending(error: Error): void {
    for (const pending of this.#pending.splice(0)) pending.reject(error);
  }
}
