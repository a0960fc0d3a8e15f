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
import { decryptFernet, encryptFernet, type FernetKey } from '../protocol/fernet.js';
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

  /** Whether `datagram` is answered in this mode, and what it asked for. */
  accept(datagram: Buffer, now = Date.now()): AcceptedRequest | ContentDropReason {
    const { mode, bufferSize } = this.#settings;
    if (mode === 'plain' && isRequest(datagram, this.#request, bufferSize)) return PLAIN;
    const received = datagram.subarray(0, bufferSize); // what the original's recvfrom reads
    const { fernetKey } = this.#secrets; // set exactly in fernet mode
    if (fernetKey) return this.#acceptFernet(fernetKey, received, now);
    if (!extended.isExtended(received)) {
      return mode === 'authenticated' && isRequest(datagram, this.#request, bufferSize)
        ? 'unauthenticated'
        : 'not-a-request';
    }
    const request = extended.decodeRequest(received);
    if (!request || received.byteLength < extended.MIN_REQUEST_SIZE) return 'not-a-request';
    let key: Uint8Array | undefined;
    if (mode === 'authenticated') {
      key = request.authenticated ? extended.verifyTag(request, this.#secrets.authKeys) : undefined;
      if (!key) return 'unauthenticated';
      const verdict = this.#guard.check(
        `x${request.nonce.toString('hex')}`,
        request.timestamp,
        now,
      );
      if (verdict !== 'fresh') return verdict === 'stale' ? 'stale' : 'replay';
    } else if (request.authenticated) {
      return 'unauthenticated'; // signed with a key this responder does not hold
    }
    if (request.service !== undefined && request.service !== this.#settings.metadata.service) {
      return 'other-service';
    }
    return { kind: 'extended', nonce: request.nonce, key };
  }

  /** The answer to an accepted request, advertising `address`. */
  answer(request: AcceptedRequest, address: string, now = Date.now()): Buffer {
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

  #acceptFernet(key: FernetKey, token: Buffer, now: number): AcceptedRequest | ContentDropReason {
    const message = decryptFernet(key, token);
    if (!message || !isRequest(message.plaintext, this.#request)) return 'not-a-request';
    if (this.#settings.replayProtection) {
      const id = `f${message.tag.toString('hex')}`;
      const verdict = this.#guard.check(id, message.timestamp * 1000, now);
      if (verdict !== 'fresh') return verdict === 'stale' ? 'stale' : 'replay';
    }
    return { kind: 'fernet', key };
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
