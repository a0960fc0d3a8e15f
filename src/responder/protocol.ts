/**
 * The responder's protocol side, without sockets: which datagrams it answers in its mode, and the
 * bytes of each answer. Modes:
 *
 * - `plain`: the original's request, and beckon's extended request without authentication.
 * - `fernet`: only Fernet tokens of the request (the original's encrypted mode), plus an age
 *   window and replay memory unless `replayProtection` is off.
 * - `authenticated`: only extended requests signed with one of the shared keys, fresh and
 *   never seen before. Nothing else gets an answer, so outsiders cannot tell a server is there.
 */
import { randomBytes } from 'node:crypto';
import * as extended from '../protocol/extended.js';
import {
  encryptFernet,
  type FernetKey,
  looksLikeFernetToken,
  openFernet,
} from '../protocol/fernet.js';
import { encodeReply, isRequest } from '../protocol/plain.js';
import { ReplayGuard } from '../security/replay-guard.js';
import type { ResponderSettings } from './options.js';
import type { Service } from './services.js';

/** Why a datagram is not answered, as far as its content goes. */
export type ContentDropReason =
  /** Not a request in this responder's mode (garbage, another message, a bad token). */
  | 'not-a-request'
  /** A request without a valid tag where one is required. */
  | 'unauthenticated'
  /** Its timestamp is outside the replay window. */
  | 'stale'
  /** Seen before inside the window, or the replay memory is full. */
  | 'replay'
  /** An extended request for another service. */
  | 'other-service'
  /** A watcher's query that lists every answering service as known: they stay silent. */
  | 'known-answer';

/**
 * Why a datagram is refused, finer than {@link ContentDropReason}: what the refusal summaries in
 * the log say (see refusal-log.ts). `not-a-request` is not summarised: other traffic on the port.
 */
export type Refusal =
  | 'not-a-request'
  /** In plain mode: a Fernet token, from a client in encrypted mode. */
  | 'encrypted'
  /** Not signed (every service has keys) or not encrypted (Fernet mode). */
  | 'unsigned'
  /** Signed or encrypted with a key no service of this responder holds. */
  | 'unknown-key'
  /** In Fernet mode: a token under this key holding another message. */
  | 'other-message'
  | 'stale'
  | 'replay'
  /** Fresh, but the replay memory is full (fail closed): reported as `replay`. */
  | 'memory-full'
  | 'other-service'
  | 'known-answer';

/** A datagram that is not answered, and why; for `stale`, by how much the sender's clock is off. */
export interface Refused {
  readonly refusal: Refusal;
  /** For `stale`: the request's time minus this host's, in milliseconds (positive: ahead). */
  readonly skewMs?: number;
}

const REFUSED = {
  'not-a-request': { refusal: 'not-a-request' },
  encrypted: { refusal: 'encrypted' },
  unsigned: { refusal: 'unsigned' },
  'unknown-key': { refusal: 'unknown-key' },
  'other-message': { refusal: 'other-message' },
  stale: { refusal: 'stale' },
  replay: { refusal: 'replay' },
  'memory-full': { refusal: 'memory-full' },
  'other-service': { refusal: 'other-service' },
  'known-answer': { refusal: 'known-answer' },
} as const satisfies Record<Refusal, Refused>;

/**
 * The drop reason each refusal is reported with. `unsigned` and `unknown-key` are both
 * `unauthenticated`: the drop event says no valid tag or key was shown; the refusal summary in
 * the log tells the two apart (a client without a key, or with another key).
 */
export const DROP_REASON_OF: Readonly<Record<Refusal, ContentDropReason>> = {
  'not-a-request': 'not-a-request',
  encrypted: 'not-a-request',
  unsigned: 'unauthenticated',
  'unknown-key': 'unauthenticated',
  'other-message': 'not-a-request',
  stale: 'stale',
  replay: 'replay',
  'memory-full': 'replay',
  'other-service': 'other-service',
  'known-answer': 'known-answer',
};

/**
 * One service that answers a request, and the key that signs its answer (extended only; none
 * for a delegated service, whose own process signs).
 */
export interface Answerer {
  readonly service: Service;
  readonly key: Uint8Array | undefined;
}

/**
 * A request that will be answered once its sender is judged, and by which services: every open
 * one for a plain request; for an extended one, those of the requested service that hold its
 * key (none when unsigned).
 */
export type AcceptedRequest =
  | { readonly kind: 'plain'; readonly answerers: readonly Answerer[] }
  | { readonly kind: 'fernet'; readonly key: FernetKey; readonly answerers: readonly Answerer[] }
  | {
      readonly kind: 'extended';
      readonly nonce: Buffer;
      /** The request as received: what a delegated answerer's process checks and signs. */
      readonly datagram: Buffer;
      /** A watcher's refresh query: the port it hears announcements on (docs/presence.md). */
      readonly presencePort: number | undefined;
      readonly answerers: readonly Answerer[];
    };

/** Keys a responder holds; kept out of {@link ResponderSettings} so that they are never printed. */
export interface ResponderSecrets {
  readonly fernetKey: FernetKey | undefined;
  readonly authKeys: readonly Buffer[];
}

export class ResponderProtocol {
  readonly #settings: ResponderSettings;
  readonly #secrets: ResponderSecrets;
  readonly #request: Buffer;
  readonly #guard: ReplayGuard;
  // Plain replies per advertised address and HTTP port: the same few bytes for every requester
  // of a subnet.
  readonly #plainReplies = new Map<string, Buffer>();

  constructor(settings: ResponderSettings, secrets: ResponderSecrets) {
    this.#settings = settings;
    this.#secrets = secrets;
    this.#request = Buffer.from(settings.message);
    this.#guard = new ReplayGuard(settings.replayWindow);
  }

  /**
   * Whether `datagram` is answered, by which of `services`, and what it asked for; else why not.
   * In Fernet mode the responder answers for its own service alone (`services[0]`).
   *
   * @param now this host's time, milliseconds since the epoch
   */
  accept(datagram: Buffer, now: number, services: readonly Service[]): AcceptedRequest | Refused {
    const { bufferSize } = this.#settings;
    const received = datagram.subarray(0, bufferSize); // what the original's recvfrom reads
    const { fernetKey } = this.#secrets; // set exactly in fernet mode
    if (fernetKey) return this.#acceptFernet(fernetKey, received, now, services.slice(0, 1));
    const open = services.filter(isOpen).map(unsigned);
    if (isRequest(datagram, this.#request, bufferSize)) {
      return open.length > 0 ? { kind: 'plain', answerers: open } : REFUSED.unsigned;
    }
    if (!extended.isExtended(received)) {
      return open.length > 0 && looksLikeFernetToken(received)
        ? REFUSED.encrypted
        : REFUSED['not-a-request'];
    }
    const request = extended.decodeRequest(received);
    if (!request || received.byteLength < extended.MIN_REQUEST_SIZE)
      return REFUSED['not-a-request'];
    let answerers: Answerer[];
    if (request.authenticated) {
      // Keyed services of other processes (delegated) check the tag in their own process.
      answerers = [];
      let verified = false;
      for (const service of services) {
        if (service.delegated) {
          answerers.push(unsigned(service));
          continue;
        }
        const key = service.keys.length > 0 ? extended.verifyTag(request, service.keys) : undefined;
        if (key) answerers.push({ service, key });
        verified ||= key !== undefined;
      }
      if (answerers.length === 0) return REFUSED['unknown-key'];
      if (verified) {
        const refusal = this.#checkFresh(
          `x${request.nonce.toString('hex')}`,
          request.timestamp,
          now,
        );
        if (refusal) return refusal;
      }
    } else {
      if (open.length === 0) return REFUSED.unsigned;
      answerers = open;
    }
    if (request.service !== undefined) {
      answerers = answerers.filter(({ service }) => service.metadata.service === request.service);
      if (answerers.length === 0) return REFUSED['other-service'];
    }
    if (request.known) {
      const known = new Set(request.known.map((id) => id.toString('hex')));
      answerers = answerers.filter(({ service }) => !known.has(service.knownId));
      if (answerers.length === 0) return REFUSED['known-answer'];
    }
    const { nonce, presencePort } = request;
    return { kind: 'extended', nonce, datagram: received, presencePort, answerers };
  }

  /** The answer of `answerer` to an accepted request, advertising `address`. */
  answer(request: AcceptedRequest, answerer: Answerer, address: string, now: number): Buffer {
    const { service, key } = answerer;
    switch (request.kind) {
      case 'plain':
        return this.#plainReply(address, service.httpPort);
      case 'fernet':
        return encryptFernet(
          request.key,
          this.#plainReply(address, service.httpPort),
          now / 1000,
          randomBytes(16),
        );
      case 'extended':
        return extended.encodeAnswer(
          {
            nonce: request.nonce,
            timestamp: now,
            address,
            port: service.httpPort,
            metadata: service.metadata,
            lease: this.#settings.announce ? this.#settings.lease : undefined,
          },
          key,
        );
    }
  }

  /** The answer as text, for logs: the plain reply, or `extended <address>[:<port>]`. */
  describe(request: AcceptedRequest, service: Service, address: string): string {
    const port = service.httpPort;
    return request.kind === 'extended'
      ? `extended ${address}${port === undefined ? '' : `:${port}`}`
      : String(this.#plainReply(address, port));
  }

  #acceptFernet(
    key: FernetKey,
    token: Buffer,
    now: number,
    services: readonly Service[],
  ): AcceptedRequest | Refused {
    const message = openFernet(key, token);
    if (message === 'other-key') {
      // Random bytes can pass as a token to a lenient decoder; a client's token has its shape.
      return looksLikeFernetToken(token) ? REFUSED['unknown-key'] : REFUSED['not-a-request'];
    }
    if (message === 'not-a-token') {
      return isRequest(token, this.#request) ? REFUSED.unsigned : REFUSED['not-a-request'];
    }
    if (!isRequest(message.plaintext, this.#request)) return REFUSED['other-message'];
    if (this.#settings.replayProtection) {
      const refusal = this.#checkFresh(
        `f${message.tag.toString('hex')}`,
        message.timestamp * 1000,
        now,
      );
      if (refusal) return refusal;
    }
    return { kind: 'fernet', key, answerers: services.map(unsigned) };
  }

  /** Undefined when the request is fresh; else why not (and, when stale, by how much). */
  #checkFresh(id: string, timestamp: number, now: number): Refused | undefined {
    const verdict = this.#guard.check(id, timestamp, now);
    if (verdict === 'fresh') return undefined;
    if (verdict === 'full') return REFUSED['memory-full'];
    if (verdict !== 'stale') return REFUSED.replay;
    return { refusal: 'stale', skewMs: timestamp - now };
  }

  #plainReply(address: string, httpPort: number | undefined): Buffer {
    const id = `${address}/${httpPort ?? ''}`;
    let reply = this.#plainReplies.get(id);
    if (!reply) {
      reply = encodeReply(this.#settings.prefix, address, httpPort);
      if (this.#plainReplies.size < 256) this.#plainReplies.set(id, reply);
    }
    return reply;
  }
}

/** Answers plain and unsigned requests: no keys here, and none in another process. */
function isOpen(service: Service): boolean {
  return service.keys.length === 0 && !service.delegated;
}

function unsigned(service: Service): Answerer {
  return { service, key: undefined };
}
