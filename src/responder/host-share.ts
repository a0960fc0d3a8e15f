/**
 * A responder's place among the beckon processes of its host (docs/many-services.md): the one
 * that holds the UDP port answers for every record on the host channel; the others register
 * their record with it, and race to take the port over when it goes away.
 */
import { BeckonError, SocketError } from '../errors.js';
import { type HostRecord, RecordError } from '../host/records.js';
import { HostRegistrant } from '../host/registrant.js';
import { HostRegistry } from '../host/registry.js';
import { type HostChannelTransport, netHostChannel } from '../host/transport.js';

/** What a started responder does on its host: answers (holds the port) or is registered. */
export type HostRole = 'answering' | 'registered';

/** How a {@link HostShare} reaches its responder. */
export interface HostShareHooks {
  /**
   * Tries to bind the discovery port: resolves true when this responder now answers (its sockets
   * installed), false when the port is taken; rejects on any other failure.
   */
  claim(): Promise<boolean>;
  /** The other processes' records (answering side), after each change. */
  records(records: readonly HostRecord[]): void;
  /** The role after a takeover or a re-registration. */
  role(role: HostRole): void;
  /**
   * Registered side: the answer, signed with this responder's own key, to a signed request
   * the answering process received, advertising `address`; undefined when not answered.
   */
  sign(request: Buffer, address: string): Buffer | undefined;
  warn(error: BeckonError): void;
}

type ShareState = 'idle' | 'answering' | 'registered' | 'taking-over' | 'closed';

/** Retries of a takeover: every 50–150 ms during the first second, then slower, up to 5 s. */
const TAKEOVER_FAST_MS = 1000;
/** Retries of a takeover 2–5 ms apart, before the 50–150 ms ones. */
const QUICK_RETRIES = 4;
const TAKEOVER_MAX_DELAY_MS = 5000;
/** How long a graceful stop waits for the registry to confirm the record is gone. */
const UNREGISTER_WAIT_MS = 500;
/** How long a registration waits for the registry's acknowledgement. */
const REGISTER_WAIT_MS = 1000;
const TIMED_OUT = Symbol('timed out');

/**
 * The host channel side of one started responder. Named states: `answering` (the registry is
 * open), `registered` (this responder's record is held by the answering process),
 * `taking-over` (that process went away: binding or registering again), `closed`.
 */
export class HostShare {
  #state: ShareState = 'idle';
  readonly #path: string;
  readonly #record: HostRecord;
  readonly #hooks: HostShareHooks;
  readonly #transport: HostChannelTransport;
  #registry: HostRegistry | undefined;
  #registrant: HostRegistrant | undefined;
  #timer: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;

  /** `transport`: what carries the channel (the `hostChannel` option); default Unix sockets. */
  constructor(
    path: string,
    record: HostRecord,
    hooks: HostShareHooks,
    transport?: HostChannelTransport,
  ) {
    this.#path = path;
    this.#record = record;
    this.#hooks = hooks;
    this.#transport = transport ?? netHostChannel;
  }

  get state(): ShareState {
    return this.#state;
  }

  /**
   * Opens the channel for the host's other beckon processes; a channel held by another process
   * (one answering on another address or family) is a warning: this responder answers for
   * itself alone.
   */
  async answer(): Promise<void> {
    this.#state = 'answering';
    const registry = new HostRegistry({ path: this.#path, transport: this.#transport });
    registry.on('change', (records) => this.#hooks.records(records));
    registry.on('warning', (error) => this.#hooks.warn(asBeckonError(error)));
    try {
      await registry.listen();
    } catch (error) {
      this.#hooks.warn(
        new SocketError(
          `Could not open the host channel, so other beckon services on this host are not answered by this process: ${String(error)}`,
          error,
        ),
      );
      return;
    }
    if (this.#state !== 'answering') {
      await registry.close(); // closed meanwhile
      return;
    }
    this.#registry = registry;
  }

  /**
   * Hands this responder's record to the process answering on the host. Resolves false when no
   * beckon process listens on the channel (the port is held by something else).
   *
   * @throws {RecordError} when the answering process refuses the record (the host is full, say).
   */
  async register(): Promise<boolean> {
    const registrant = new HostRegistrant({ path: this.#path, transport: this.#transport });
    try {
      await registrant.connect();
    } catch {
      return false;
    }
    try {
      // A live registry acknowledges at once; one that hangs (its event loop blocked) is left.
      if ((await within(registrant.register(this.#record), REGISTER_WAIT_MS)) === TIMED_OUT) {
        registrant.close();
        return false;
      }
    } catch (error) {
      registrant.close();
      if (error instanceof RecordError) throw error;
      return false; // the answering process went away meanwhile
    }
    if (this.#state === 'closed') {
      registrant.close();
      return false;
    }
    this.#registrant = registrant;
    this.#state = 'registered';
    registrant.once('lost', () => this.#takeOver());
    registrant.on('warning', (error) => this.#hooks.warn(asBeckonError(error)));
    registrant.on('sign', ({ id, instanceId, request, address }) => {
      let answer: Buffer | undefined;
      try {
        if (instanceId === this.#record.instanceId) answer = this.#hooks.sign(request, address);
      } catch (error) {
        this.#hooks.warn(asBeckonError(error)); // never thrown into the socket's data handler
      }
      registrant.signed(id, answer);
    });
    return true;
  }

  /**
   * Answering side: the answer of the keyed record `instanceId`, signed by its own process, to
   * `request`, advertising `address`; undefined when that process does not answer it.
   */
  forward(instanceId: string, request: Buffer, address: string): Promise<Buffer | undefined> {
    return this.#registry?.forward(instanceId, request, address) ?? Promise.resolve(undefined);
  }

  /**
   * Leaves the host channel: the registry closes (registrants race to take over), or this
   * record is unregistered, so that it is gone when this resolves.
   */
  async close(): Promise<void> {
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#wake?.();
    const registrant = this.#registrant;
    this.#registrant = undefined;
    if (registrant) {
      // Acknowledged at once by a live registry; a hung one is not waited for long.
      const unregistered = registrant.unregister(this.#record.instanceId).catch(() => {});
      await within(unregistered, UNREGISTER_WAIT_MS);
      registrant.close();
    }
    const registry = this.#registry;
    this.#registry = undefined;
    await registry?.close();
  }

  /**
   * Joins the host after finding the port taken: registers with the process that answers or,
   * should the port free meanwhile, claims it; retries every 50–150 ms for up to 1 s (the holder
   * may have bound the port and not yet opened the channel). Resolves the role, or undefined when
   * the port stayed held by something that answers no channel.
   *
   * @throws {RecordError} when the answering process refuses the record.
   */
  join(): Promise<HostRole | undefined> {
    return this.#race('register', false);
  }

  /** The answering process went away: race the others for the port, for as long as it takes. */
  #takeOver(): void {
    if (this.#state !== 'registered') return;
    this.#state = 'taking-over';
    this.#registrant = undefined;
    this.#race('claim', true).then(
      (role) => {
        if (role) this.#hooks.role(role);
      },
      (error: unknown) => this.#hooks.warn(asBeckonError(error)),
    );
  }

  /**
   * Binds the port or registers with whoever did, `first` first, retrying with jitter so that
   * the registered processes do not all collide. After 1 s: gives up, or (`forever`) warns once
   * and goes on, slower; a record refused on the way is then a warning, not the end.
   */
  async #race(first: 'claim' | 'register', forever: boolean): Promise<HostRole | undefined> {
    const since = performance.now();
    let delay = TAKEOVER_FAST_MS / 4;
    let tries = 0;
    const steps = first === 'claim' ? ['claim', 'register'] : ['register', 'claim'];
    for (;;) {
      try {
        for (const step of steps) {
          if (this.#state === 'closed') return undefined;
          if (step === 'register' && (await this.register())) return 'registered';
          if (step === 'claim' && (await this.#hooks.claim())) {
            await this.answer();
            return 'answering';
          }
        }
      } catch (error) {
        if (!forever) throw error;
        this.#hooks.warn(asBeckonError(error));
      }
      const elapsed = performance.now() - since;
      if (elapsed >= TAKEOVER_FAST_MS) {
        if (!forever) return undefined;
        if (delay === TAKEOVER_FAST_MS / 4) {
          this.#hooks.warn(
            new SocketError(
              'The process answering discovery for this host went away, and the port could not be taken over within 1 s; still trying',
              undefined,
            ),
          );
        }
        delay = Math.min(delay * 2, TAKEOVER_MAX_DELAY_MS);
      }
      // The dead holder's UDP port can outlive its channel by a millisecond or two: a takeover
      // tries again at once a few times before the jittered pace (bench many-services).
      tries++;
      const quick = first === 'claim' && tries <= QUICK_RETRIES;
      await this.#wait(
        quick
          ? 2 + Math.random() * 3
          : elapsed < TAKEOVER_FAST_MS
            ? 50 + Math.random() * 100
            : delay,
      );
    }
  }

  /** Resolves after `ms`, or at once when closed. */
  #wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(resolve, ms);
    });
  }
}

/** `promise`'s value, or {@link TIMED_OUT} after `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function asBeckonError(error: unknown): BeckonError {
  if (error instanceof BeckonError) return error;
  return new SocketError(`Host channel: ${String(error)}`, error);
}
