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
  | 'other-service';

/**
 * Why a datagram is refused, finer than {@link ContentDropReason}: what the refusal summaries in
 * the log say (see refusal-log.ts). `not-a-request` is not summarised: other traffic on the port.
 */
export type Refusal =
  | 'not-a-request'
  /** In plain mode: a Fernet token, from a client in encrypted mode. */
  | 'encrypted'
  /** Not signed (authenticated mode) or not encrypted (Fernet mode). */
  | 'unsigned'
  /** Signed or encrypted with a key this responder does not hold. */
  | 'unknown-key'
  /** In Fernet mode: a token under this key holding another message. */
  | 'other-message'
  | 'stale'
  | 'replay'
  /** Fresh, but the replay memory is full (fail closed): reported as `replay`. */
  | 'memory-full'
  | 'other-service';

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
};

/** A request that will be answered once its sender is judged. */
export type AcceptedRequest =
  | { readonly kind: 'plain' }
  | { readonly kind: 'fernet'; readonly key: FernetKey }
  | { readonly kind: 'extended'; readonly nonce: Buffer; readonly key: Uint8Array | undefined };

const PLAIN: AcceptedRequest = { kind: 'plain' };

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
  // Plain replies per advertised address: the same few bytes for every requester of a subnet.
  readonly #plainReplies = new Map<string, Buffer>();

  constructor(settings: ResponderSettings, secrets: ResponderSecrets) {
    this.#settings = settings;
    this.#secrets = secrets;
    this.#request = Buffer.from(settings.message);
    this.#guard = new ReplayGuard(settings.replayWindow);
  }

  /**
   * Whether `datagram` is answered in this mode, and what it asked for; else why not.
   *
   * @param now this host's time, milliseconds since the epoch
   */
  accept(datagram: Buffer, now: number): AcceptedRequest | Refused {
    const { mode, bufferSize } = this.#settings;
    if (mode === 'plain' && isRequest(datagram, this.#request, bufferSize)) return PLAIN;
    const received = datagram.subarray(0, bufferSize); // what the original's recvfrom reads
    const { fernetKey } = this.#secrets; // set exactly in fernet mode
    if (fernetKey) return this.#acceptFernet(fernetKey, received, now);
    if (!extended.isExtended(received)) {
      if (mode === 'authenticated' && isRequest(datagram, this.#request, bufferSize)) {
        return REFUSED.unsigned;
      }
      return mode === 'plain' && looksLikeFernetToken(received)
        ? REFUSED.encrypted
        : REFUSED['not-a-request'];
    }
    const request = extended.decodeRequest(received);
    if (!request || received.byteLength < extended.MIN_REQUEST_SIZE)
      return REFUSED['not-a-request'];
    let key: Uint8Array | undefined;
    if (mode === 'authenticated') {
      if (!request.authenticated) return REFUSED.unsigned;
      key = extended.verifyTag(request, this.#secrets.authKeys);
      if (!key) return REFUSED['unknown-key'];
      const refusal = this.#checkFresh(`x${request.nonce.toString('hex')}`, request.timestamp, now);
      if (refusal) return refusal;
    } else if (request.authenticated) {
      return REFUSED['unknown-key']; // signed with a key this responder does not hold
    }
    if (request.service !== undefined && request.service !== this.#settings.metadata.service) {
      return REFUSED['other-service'];
    }
    return { kind: 'extended', nonce: request.nonce, key };
  }

  /** The answer to an accepted request, advertising `address`. */
  answer(request: AcceptedRequest, address: string, now: number): Buffer {
    const s = this.#settings;
    switch (request.kind) {
      case 'plain':
        return this.#plainReply(address);
      case 'fernet':
        return encryptFernet(request.key, this.#plainReply(address), now / 1000, randomBytes(16));
      case 'extended':
        return extended.encodeAnswer(
          {
            nonce: request.nonce,
            timestamp: now,
            address,
            port: s.httpPort,
            metadata: s.metadata,
          },
          request.key,
        );
    }
  }

  /** The answer as text, for logs: the plain reply, or `extended <address>[:<port>]`. */
  describe(request: AcceptedRequest, address: string): string {
    const port = this.#settings.httpPort;
    return request.kind === 'extended'
      ? `extended ${address}${port === undefined ? '' : `:${port}`}`
      : String(this.#plainReply(address));
  }

  #acceptFernet(key: FernetKey, token: Buffer, now: number): AcceptedRequest | Refused {
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
    return { kind: 'fernet', key };
  }

  /** Undefined when the request is fresh; else why not (and, when stale, by how much). */
  #checkFresh(id: string, timestamp: number, now: number): Refused | undefined {
    const verdict = this.#guard.check(id, timestamp, now);
    if (verdict === 'fresh') return undefined;
    if (verdict === 'full') return REFUSED['memory-full'];
    if (verdict !== 'stale') return REFUSED.replay;
    return { refusal: 'stale', skewMs: timestamp - now };
  }

  #plainReply(address: string): Buffer {
    let reply = this.#plainReplies.get(address);
    if (!reply) {
      reply = encodeReply(this.#settings.prefix, address, this.#settings.httpPort);
      if (this.#plainReplies.size < 256) this.#plainReplies.set(address, reply);
    }
    return reply;
  }
}
