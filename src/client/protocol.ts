/**
 * The client's protocol side, without sockets: the request datagrams it sends and which replies
 * it believes. One instance per discovery run, since it remembers what it sent.
 *
 * - `plain`: the original's request; replies parsed exactly as the original client does.
 * - `fernet`: each request is a fresh Fernet token; a reply must be a token under the same key,
 *   inside the replay window, and is believed once.
 * - `extended`: each round sends a fresh nonce; an answer must echo a nonce of this run and, with
 *   a key, carry a valid tag, and is believed once.
 */
import { randomBytes } from 'node:crypto';
import { parseIPv4 } from '../network/ipv4.js';
import * as extended from '../protocol/extended.js';
import { decryptFernet, encryptFernet } from '../protocol/fernet.js';
import {
  DEFAULT_HTTP_PORT,
  encodeRequest,
  parsePlainReply,
  REPLY_BUFFER_SIZE,
} from '../protocol/plain.js';
import { ReplayGuard } from '../security/replay-guard.js';
import type { DiscoverSecrets, DiscoverSettings } from './options.js';

/** Why a reply was not believed. */
export type ReplyDropReason =
  /** Not a reply of this mode, or not well formed. */
  | 'malformed'
  /** No valid tag, or a token under another key. */
  | 'unauthenticated'
  /** It echoes no nonce this run sent. */
  | 'unsolicited'
  /** Outside the replay window (Fernet). */
  | 'stale'
  /** The very same Fernet token (or signed announcement) was already believed. */
  | 'replay'
  /** An announcement of a service other than the one asked for. */
  | 'other-service';

/** A reply that was not believed, and why; for `stale`, by how much the server's clock is off. */
export interface DroppedReply {
  readonly drop: ReplyDropReason;
  /** For `stale`: the reply's time minus this host's, in milliseconds (positive: ahead). */
  readonly skewMs?: number;
}

const DROPPED: Readonly<Record<ReplyDropReason, DroppedReply>> = {
  malformed: { drop: 'malformed' },
  unauthenticated: { drop: 'unauthenticated' },
  unsolicited: { drop: 'unsolicited' },
  stale: { drop: 'stale' },
  replay: { drop: 'replay' },
  'other-service': { drop: 'other-service' },
};

/** A reply that was believed. */
export interface BelievedReply {
  /** The claimed address, canonical: IPv4 dotted decimal, or IPv6 (RFC 5952, no zone). */
  readonly ip: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly port: number;
  /** The reply as text (decrypted in Fernet mode); base64 of the datagram for extended answers. */
  readonly raw: string;
  /** When the request it answers was sent (`performance.now()`), if known. */
  readonly sentAt: number | undefined;
  readonly metadata: extended.ServerMetadata | undefined;
  /** Milliseconds the server may be believed (extended answers of announcing servers). */
  readonly lease: number | undefined;
}

/** A believed announcement: a server that is there (lease > 0) or leaving (lease 0). */
export interface BelievedAnnouncement extends BelievedReply {
  readonly lease: number;
  /** Signed with the key: a goodbye is believed at once. */
  readonly signed: boolean;
}

/** What a watcher's refresh query carries (docs/presence.md). */
export interface PresenceQuery {
  /** The port the watcher hears announcements on; none: it asks for unicast answers. */
  readonly port?: number;
  /** Known-answer ids of servers that should stay silent. */
  readonly known: readonly Buffer[];
}

/** How long a nonce is remembered: answers to older requests are `unsolicited`. */
const NONCE_LIFETIME_MS = 30_000;
/** Nonces remembered at most (a watcher sends for hours). */
const MAX_NONCES = 4096;

export class ClientProtocol {
  readonly #settings: DiscoverSettings;
  readonly #secrets: DiscoverSecrets;
  readonly #plainRequest: Buffer;
  readonly #prefix: Buffer;
  readonly #guard: ReplayGuard;
  // Each extended request's nonce (hex) -> when it was sent. Bounded: one per channel,
  // destination kind and round.
  readonly #nonces = new Map<string, number>();

  constructor(settings: DiscoverSettings, secrets: DiscoverSecrets) {
    this.#settings = settings;
    this.#secrets = secrets;
    this.#plainRequest = encodeRequest(settings.message);
    this.#prefix = Buffer.from(settings.prefix);
    this.#guard = new ReplayGuard(settings.replayWindow);
  }

  /**
   * The datagram for one round on one channel (a new token or nonce each time).
   *
   * @param now this host's time, milliseconds since the epoch
   * @param identify the answer must identify its server (instance id, metadata): in plain mode
   *   the extended request is sent instead of the original's. For the multicast groups and
   *   IPv6, which only beckon responders answer, so that one server heard on several paths is
   *   reported once.
   */
  request(now: number, identify = false, presence?: PresenceQuery): Buffer {
    const { fernetKey, authKey } = this.#secrets; // a Fernet key exactly in fernet mode
    if (fernetKey) return encryptFernet(fernetKey, this.#plainRequest, now / 1000, randomBytes(16));
    if (this.#settings.mode === 'plain' && !identify) return this.#plainRequest;
    const nonce = randomBytes(extended.NONCE_SIZE);
    this.#remember(nonce.toString('hex'));
    return extended.encodeRequest(
      {
        nonce,
        timestamp: now,
        service: this.#settings.service,
        known: presence?.known,
        presencePort: presence?.port,
      },
      authKey,
    );
  }

  /** Remembers a nonce; in a long run, forgets those too old to be answered. */
  #remember(nonce: string): void {
    const at = performance.now();
    if (this.#nonces.size >= MAX_NONCES) {
      for (const [old, sent] of this.#nonces) {
        if (at - sent < NONCE_LIFETIME_MS && this.#nonces.size < MAX_NONCES) break;
        this.#nonces.delete(old); // oldest first: a Map keeps insertion order
      }
    }
    this.#nonces.set(nonce, at);
  }

  /**
   * Believes an announcement (docs/presence.md), or says why not. With a key it must be signed
   * with it, fresh and not seen before; without, unsigned. Never throws.
   */
  parseAnnouncement(datagram: Buffer, now: number): BelievedAnnouncement | DroppedReply {
    const announcement = extended.decodeAnnouncement(datagram);
    if (!announcement) return DROPPED.malformed;
    const { authKey } = this.#secrets;
    if (authKey) {
      if (!(announcement.authenticated && extended.verifyTag(announcement, [authKey]))) {
        return DROPPED.unauthenticated;
      }
      const id = `n${announcement.nonce.toString('hex')}`;
      const verdict = this.#guard.check(id, announcement.timestamp, now);
      if (verdict === 'stale') return { drop: 'stale', skewMs: announcement.timestamp - now };
      if (verdict !== 'fresh') return DROPPED.replay;
    } else if (announcement.authenticated) {
      return DROPPED.unauthenticated;
    }
    const { service } = this.#settings;
    if (service !== undefined && announcement.metadata.service !== service) {
      return DROPPED['other-service'];
    }
    return {
      ip: announcement.address,
      family: parseIPv4(announcement.address) === undefined ? 'IPv6' : 'IPv4',
      port: announcement.port ?? DEFAULT_HTTP_PORT,
      raw: datagram.toString('base64'),
      sentAt: undefined,
      metadata: announcement.metadata,
      lease: announcement.lease,
      signed: authKey !== undefined,
    };
  }

  /** Believes `datagram`, or says why not (with the skew, when stale). Never throws. */
  parse(datagram: Buffer, now: number): BelievedReply | DroppedReply {
    const { fernetKey } = this.#secrets;
    if (fernetKey) {
      const message = decryptFernet(fernetKey, datagram.subarray(0, REPLY_BUFFER_SIZE));
      if (!message) return DROPPED.unauthenticated;
      if (this.#settings.replayProtection) {
        const timestamp = message.timestamp * 1000;
        const verdict = this.#guard.check(message.tag.toString('hex'), timestamp, now);
        if (verdict === 'stale') return { drop: 'stale', skewMs: timestamp - now };
        if (verdict !== 'fresh') return DROPPED.replay;
      }
      return this.#parsePlain(message.plaintext, message.plaintext.toString('utf8'));
    }
    const answer = this.#nonces.size > 0 ? extended.decodeAnswer(datagram) : undefined;
    if (answer || this.#settings.mode === 'extended') return this.#parseExtended(datagram, answer);
    return this.#parsePlain(datagram, datagram.subarray(0, REPLY_BUFFER_SIZE).toString('utf8'));
  }

  #parsePlain(bytes: Buffer, raw: string): BelievedReply | DroppedReply {
    const reply = parsePlainReply(bytes, this.#prefix);
    if (!reply) return DROPPED.malformed;
    const { ip, port } = reply;
    return {
      ip,
      family: 'IPv4',
      port,
      raw,
      sentAt: undefined,
      metadata: undefined,
      lease: undefined,
    };
  }

  #parseExtended(
    datagram: Buffer,
    answer = extended.decodeAnswer(datagram),
  ): BelievedReply | DroppedReply {
    if (!answer) return DROPPED.malformed;
    const { authKey } = this.#secrets;
    if (authKey && !(answer.authenticated && extended.verifyTag(answer, [authKey]))) {
      return DROPPED.unauthenticated;
    }
    if (!authKey && answer.authenticated) return DROPPED.unauthenticated;
    // An answer is fresh when it echoes a nonce of this run (the discovery deduplicates the rest).
    const sentAt = this.#nonces.get(answer.nonce.toString('hex'));
    if (sentAt === undefined) return DROPPED.unsolicited;
    return {
      ip: answer.address,
      family: parseIPv4(answer.address) === undefined ? 'IPv6' : 'IPv4',
      port: answer.port ?? DEFAULT_HTTP_PORT,
      raw: datagram.toString('base64'),
      sentAt,
      metadata: answer.metadata,
      lease: answer.lease,
    };
  }
}
