/**
 * `worker: true`: the responder runs in a worker thread (worker-entry.ts), and this object, on
 * the host app's thread, starts and stops it and relays its events. The thread does all the
 * per-datagram work, so a flood on the discovery port never queues behind, or in front of, the
 * app's own requests.
 */
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import { BeckonError, type BeckonErrorCode, BindError, SocketError } from '../errors.js';
import { debugLogger, gateLogger, type Logger, silentLogger } from '../logger.js';
import type { DropEvent, ReplyEvent, Responder, ResponderEvents } from './events.js';
import { responderChannel } from './events.js';
import type { HostRole } from './host-share.js';
import { Backoff, Serial } from './lifecycle.js';
import {
  type ResponderOptions,
  type ResponderSettings,
  resolveResponderSettings,
} from './options.js';

/** What the thread is started with: the options, minus what cannot be cloned into it. */
export interface WorkerData {
  readonly options: ResponderOptions;
  /** Whether to relay every reply and drop (only when someone listens: they cost a message). */
  readonly observe: boolean;
}

/** Messages from this thread to the worker. */
export type ToWorker = { type: 'observe'; on: boolean } | { type: 'stop' };

/** Messages from the worker to this thread. */
export type FromWorker =
  | { type: 'listening'; address: string; port: number }
  | { type: 'role'; role: HostRole; port: number }
  | { type: 'start-failed'; port: number; address: string; code?: string; message: string }
  | { type: 'reply'; event: ReplyEvent }
  | { type: 'drop'; event: DropEvent }
  | { type: 'warning'; code: BeckonErrorCode; message: string }
  | { type: 'registry'; event: ResponderEvents['registry'][0] }
  | { type: 'log'; level: keyof Logger; message: string }
  | { type: 'stopped' };

const STOP_TIMEOUT_MS = 2000;
// diagnostics_channel has no subscribe event: a new subscriber is noticed within this time.
const CHANNEL_POLL_MS = 1000;

/** Starts the thread: worker-entry.js, or from the TypeScript sources (tests), worker-entry.ts. */
function startThread(workerData: WorkerData): Worker {
  // The thread's stdout and stderr are the app's; it never writes to them anyway.
  const options = { workerData, stdout: false, stderr: false };
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./worker-entry.js', import.meta.url), options);
  }
  // Node 20 does not carry tsx's module hooks into a worker: register them there first.
  const entry = JSON.stringify(new URL('./worker-entry.ts', import.meta.url).href);
  const boot = `import('tsx/esm/api').then(({ register }) => { register(); return import(${entry}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/** A {@link Responder} whose socket and hot path live in a worker thread. */
export class WorkerResponder extends EventEmitter<ResponderEvents> implements Responder {
  readonly settings: ResponderSettings;
  // What the thread gets: the options, minus what cannot be cloned into it.
  readonly #options: ResponderOptions;
  readonly #logger: Logger;
  readonly #signal: AbortSignal | undefined;
  #worker: Worker | undefined;
  #port: number | undefined;
  #role: HostRole | undefined;
  #started = false;
  #observing = false;
  #generation = 0;
  readonly #lifecycle = new Serial();
  readonly #restart = new Backoff();
  #pollTimer: NodeJS.Timeout | undefined;

  constructor(options: ResponderOptions) {
    super();
    // Silent here: the thread resolves the same options and its warnings are relayed.
    const { allowCidrs, allowCidrs6, secrets, clock, registryConfig, hostChannel, ...settings } =
      resolveResponderSettings({
        ...options,
        logger: silentLogger,
      });
    this.settings = settings;
    const { logger, signal, socketFactory, interfaceProvider, interfaceProvider6, ...cloneable } =
      options;
    this.#options = {
      ...cloneable,
      worker: false,
      // Read once here, so the thread sees the same environment and the same random id.
      env: { ...(options.env ?? process.env) },
      instanceId: settings.metadata.instanceId,
    };
    // Lines from the thread are gated there already; this gates the ones from this side.
    this.#logger = gateLogger(logger ?? debugLogger, settings.logging);
    this.#signal = signal;
    this.#signal?.addEventListener('abort', () => void this.stop(), { once: true });
    const relayIfObserved = () => queueMicrotask(() => this.#updateObserving());
    const untyped = this as EventEmitter;
    untyped.on('newListener', relayIfObserved).on('removeListener', relayIfObserved);
  }

  get port(): number | undefined {
    return this.#started ? this.#port : undefined;
  }

  get listening(): boolean {
    return this.#started;
  }

  get role(): HostRole | undefined {
    return this.#started ? this.#role : undefined;
  }

  start(options: { signal?: AbortSignal } = {}): Promise<void> {
    return this.#lifecycle.run(async () => {
      if (this.#started) return;
      if (this.#signal?.aborted) throw this.#signal.reason;
      const generation = ++this.#generation;
      await this.#spawn(generation, this.settings.port, options.signal);
      this.#started = true;
      this.#pollTimer = setInterval(() => this.#updateObserving(), CHANNEL_POLL_MS).unref();
    });
  }

  stop(): Promise<void> {
    return this.#lifecycle.run(async () => {
      if (!this.#started) return;
      this.#generation++;
      this.#started = false;
      this.#restart.cancel();
      clearInterval(this.#pollTimer);
      const worker = this.#worker;
      this.#worker = undefined;
      if (worker) await stopWorker(worker);
      this.emit('close');
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  #observed(): boolean {
    return (
      this.listenerCount('reply') > 0 ||
      this.listenerCount('drop') > 0 ||
      responderChannel.hasSubscribers
    );
  }

  #updateObserving(): void {
    const on = this.#observed();
    if (on === this.#observing) return;
    this.#observing = on;
    this.#worker?.postMessage({ type: 'observe', on } satisfies ToWorker);
  }

  /** Starts a thread and resolves once its socket is bound; rejects with its bind error. */
  #spawn(generation: number, port: number, signal?: AbortSignal): Promise<Worker> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.#observing = this.#observed();
    const worker = startThread({ options: { ...this.#options, port }, observe: this.#observing });
    this.#worker = worker;
    return new Promise<Worker>((resolve, reject) => {
      let bound = false;
      const fail = (error: unknown) => {
        signal?.removeEventListener('abort', onAbort);
        if (this.#worker === worker) this.#worker = undefined;
        void worker.terminate();
        reject(error);
      };
      const onAbort = () => fail(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });

      worker.on('message', (message: FromWorker) => {
        // Log lines are kept to the end (a stopping thread's last words); the rest only while
        // this thread is the current one, not after a stop, an abort or a newer restart.
        if (message.type === 'log') {
          this.#logger[message.level](message.message);
          return;
        }
        if (this.#worker !== worker) return;
        if (message.type === 'listening') {
          // Set before the event, so that a listener sees the port, as on the main thread.
          this.#port = message.port;
          this.#started = true;
          this.emit('listening', { address: message.address, port: message.port });
        } else if (message.type === 'role') {
          // The thread's start is done (it answers, or is registered with the host's answerer).
          this.#port = message.port;
          this.#role = message.role;
          this.#started = true;
          this.emit('role', { role: message.role, port: message.port });
          if (!bound) {
            bound = true;
            signal?.removeEventListener('abort', onAbort);
            resolve(worker);
          }
        } else if (message.type === 'start-failed') {
          const cause: NodeJS.ErrnoException = new Error(message.message);
          if (message.code !== undefined) cause.code = message.code;
          fail(new BindError(message.port, message.address, cause));
        } else if (message.type !== 'stopped') {
          this.#relay(message);
        }
      });
      worker.on('error', (error) => {
        if (!bound) fail(new SocketError(`Discovery worker failed: ${error.message}`, error));
        else this.#warn(new SocketError(`Discovery worker failed: ${error.message}`, error));
      });
      worker.on('exit', (code) => {
        if (!bound) {
          fail(new SocketError(`Discovery worker exited (${code}) before binding`, undefined));
          return;
        }
        if (this.#worker !== worker || generation !== this.#generation || !this.#started) return;
        // The thread died while answering (out of memory, a bug): start a new one.
        this.#worker = undefined;
        this.#warn(new SocketError(`Discovery worker exited (${code}); restarting it`, undefined));
        // The new thread binds the port the last one had (it matters with `port: 0`).
        this.#restart.retry(() => this.#spawn(generation, this.#port ?? this.settings.port), {
          current: () => this.#started && generation === this.#generation,
          succeeded: () => {}, // its 'listening' message did the rest
          discard: (late) => {
            if (this.#worker === late) this.#worker = undefined;
            void stopWorker(late);
          },
          failed: (failure) => this.#warn(failure as BeckonError),
        });
      });
    });
  }

  #relay(
    message: Exclude<
      FromWorker,
      { type: 'listening' | 'role' | 'start-failed' | 'stopped' | 'log' }
    >,
  ): void {
    switch (message.type) {
      case 'reply':
      case 'drop':
        // Emitted before it is published, as on the main thread.
        if (message.type === 'reply') this.emit('reply', message.event);
        else this.emit('drop', message.event);
        if (responderChannel.hasSubscribers) {
          responderChannel.publish({ type: message.type, port: this.#port, ...message.event });
        }
        return;
      case 'warning':
        this.emit('warning', new BeckonError(message.code, message.message));
        return;
      case 'registry':
        this.emit('registry', message.event);
        return;
    }
  }

  #warn(error: BeckonError): void {
    this.#logger.warn(error.message);
    this.emit('warning', error);
  }
}

/** Asks the thread to close its socket, then ends it; a thread that hangs is terminated. */
async function stopWorker(worker: Worker): Promise<void> {
  const stopped = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, STOP_TIMEOUT_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'stopped') done();
    });
    worker.once('exit', done);
  });
  worker.postMessage({ type: 'stop' } satisfies ToWorker);
  await stopped;
  await worker.terminate();
}
