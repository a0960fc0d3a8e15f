/** What a responder tells the world: its interface, its events and its diagnostics channel. */
import { channel } from 'node:diagnostics_channel';
import type { EventEmitter } from 'node:events';
import type { BeckonError } from '../errors.js';
import type { HostRole } from './host-share.js';
import type { ResponderSettings } from './options.js';
import type { AcceptedRequest, ContentDropReason } from './protocol.js';
import type { PublisherState } from './registry-publisher.js';

/**
 * The diagnostics channel every responder publishes its replies and drops on, as
 * `{ type: 'reply', port, ...ReplyEvent }` and `{ type: 'drop', port, ...DropEvent }`.
 */
export const RESPONDER_CHANNEL = 'beckon:responder';
/** The channel object of {@link RESPONDER_CHANNEL}. */
export const responderChannel = channel(RESPONDER_CHANNEL);

/** A reply that was sent. */
export interface ReplyEvent {
  /** Requester address and port. */
  readonly to: string;
  readonly toPort: number;
  /** The advertised address. */
  readonly address: string;
  /** What was answered: the original's request, a Fernet token, or an extended request. */
  readonly kind: AcceptedRequest['kind'];
  /**
   * The reply as text: `SERVER_IP:<address>[:<http port>]` (in Fernet mode, what the token
   * holds), or `extended <address>[:<http port>]`.
   */
  readonly reply: string;
  /** Size of the reply datagram in bytes. */
  readonly bytes: number;
  /** The instance id of the service that answered (a host's answering process answers for several). */
  readonly instanceId: string;
}

/** Why a datagram got no reply. */
export type DropReason =
  | ContentDropReason
  | 'invalid-source'
  | 'public'
  | 'off-link'
  | 'rate-limited'
  /** A private sender behind a router, over the off-link limits (docs/security.md). */
  | 'off-link-rate-limited'
  | 'no-address'
  /** The service listens only on another address than the one this requester would be sent. */
  | 'unreachable';

/** A datagram that got no reply. */
export interface DropEvent {
  readonly from: string;
  readonly fromPort: number;
  readonly reason: DropReason;
  /**
   * For `stale`: the request's time minus this host's, in milliseconds (positive when the
   * sender's clock is ahead), so that a trace shows how far the sender's clock is off.
   */
  readonly skewMs?: number;
}

/** Events of a {@link Responder}. */
export interface ResponderEvents {
  /** The socket is bound (again, after a recovery). */
  listening: [{ address: string; port: number }];
  reply: [ReplyEvent];
  drop: [DropEvent];
  /** A recoverable problem: a socket error, a failed send. The responder keeps running. */
  warning: [BeckonError];
  /**
   * The responder's place on its host (docs/many-services.md): at start, and after a takeover
   * (`answering`) or a re-registration with the process that took the port over (`registered`).
   */
  role: [{ role: HostRole; port: number }];
  /**
   * The registration in the registry (`registry` option, docs/registry.md) changed state:
   * `connecting`, `registered` (the record is there), `unreachable` (retrying; a warning says
   * why), `off` (the registry could not be opened: the etcd3 package is missing), `stopped`.
   */
  registry: [{ state: PublisherState; registry: string }];
  /** The responder stopped. */
  close: [];
}

/** The server side: answers discovery requests on a UDP port. */
export interface Responder extends EventEmitter<ResponderEvents> {
  /** Settings in effect, after options, environment and defaults. */
  readonly settings: ResponderSettings;
  /** The bound UDP port (useful with `port: 0`), or undefined when not listening. */
  readonly port: number | undefined;
  /** Whether the responder is started (answering, or registered with the host's answering process). */
  readonly listening: boolean;
  /**
   * While started: `answering` when this responder holds the UDP port (and answers for the
   * host's other beckon services), `registered` when another beckon process on the host holds it
   * and answers for this one. Undefined when stopped.
   */
  readonly role: HostRole | undefined;
  /**
   * Binds the port and starts answering. Resolves once bound; a second call while started
   * does nothing.
   *
   * @throws {BindError} when the port is taken by anything but a beckon responder that shares it
   * (the error names it), or cannot be bound.
   */
  start(options?: { signal?: AbortSignal }): Promise<void>;
  /** Stops answering and closes the socket. Safe to call any number of times. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
