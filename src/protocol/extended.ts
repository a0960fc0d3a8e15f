/**
 * beckon's extended protocol (docs/protocol.md): metadata, service filtering and shared-key
 * authentication. Pure functions: time, nonces and keys are parameters.
 *
 * Every datagram: a 34-byte header (`BECKON`, version 1, kind, flags, a reserved zero byte,
 * a 16-byte nonce, a u64 millisecond timestamp), then type-length-value fields, then, when the
 * AUTH flag is set, an HMAC-SHA256 tag over everything before it. A request is padded to at least
 * {@link MIN_REQUEST_SIZE} bytes and an answer is at most {@link MAX_ANSWER_SIZE}, so an answer is
 * never more than 3 times the size of its request.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { parseIPv4 } from '../network/ipv4.js';
import { classifyIPv6, formatIPv6, mappedIPv4, parseIPv6 } from '../network/ipv6.js';

/** The first bytes of every extended datagram. */
export const MAGIC = Buffer.from('BECKON', 'latin1');
/** The protocol version this module speaks. */
export const VERSION = 1;
/** Smallest request answered: requests are padded so that answers cannot amplify. */
export const MIN_REQUEST_SIZE = 256;
/** Largest answer ever sent (3 x {@link MIN_REQUEST_SIZE}). */
export const MAX_ANSWER_SIZE = 768;
/** Largest datagram either side accepts. */
export const MAX_DATAGRAM_SIZE = 1200;
/** Length of the nonce a request carries and its answer echoes. */
export const NONCE_SIZE = 16;
/** Length of the HMAC-SHA256 tag. */
export const TAG_SIZE = 32;

const HEADER_SIZE = MAGIC.byteLength + 4 + NONCE_SIZE + 8;
const KIND_REQUEST = 0x51; // 'Q'
const KIND_ANSWER = 0x41; // 'A'
const KIND_ANNOUNCEMENT = 0x4e; // 'N'
const FLAG_AUTH = 0x01;

/** Bytes of one known-answer id (see {@link knownId}). */
export const KNOWN_ID_SIZE = 8;
/** Known-answer ids one request carries at most (31 per field). */
export const MAX_KNOWN = 93;
/** Longest lease a datagram may declare: one day, in milliseconds. */
export const MAX_LEASE_MS = 86_400_000;

/** Field types. Unknown types are skipped, so later versions can add fields. */
export const Field = {
  padding: 0x00,
  service: 0x01,
  /** Request: known-answer ids, 8 bytes each; those servers stay silent. Repeatable. */
  known: 0x02,
  /** Request: a watcher's refresh query; u16, the port its announcements are wanted on. */
  presence: 0x03,
  address: 0x10,
  port: 0x11,
  scheme: 0x12,
  instanceId: 0x13,
  name: 0x14,
  serviceName: 0x15,
  version: 0x16,
  value: 0x17,
  /** 16 bytes, an IPv6 address; an answer holds it or `address` (IPv4), never both. */
  address6: 0x18,
  /** u32 milliseconds: how long the server may be believed without hearing from it. */
  lease: 0x19,
} as const;

/** Limits on metadata, in UTF-8 bytes. */
export const Limits = {
  text: 64,
  version: 32,
  scheme: 16,
  valueKey: 32,
  valueText: 128,
  values: 8,
  valuesTotal: 256,
} as const;

/** What a server says about itself in an extended answer. */
export interface ServerMetadata {
  /** Identifies one running server; stable when configured, random per responder otherwise. */
  readonly instanceId: string;
  readonly name?: string | undefined;
  /** The application, so that several can share a discovery port without seeing each other. */
  readonly service?: string | undefined;
  /** `http` or `https`. */
  readonly scheme?: string | undefined;
  /** The application's version. */
  readonly version?: string | undefined;
  /** Small key/value pairs. */
  readonly values: Readonly<Record<string, string>>;
}

/** The common part of both kinds. */
interface Envelope {
  readonly nonce: Buffer;
  /** Milliseconds since the epoch, on the sender's clock. */
  readonly timestamp: number;
}

/** A discovery request. */
export interface ExtendedRequest extends Envelope {
  /** Only servers of this service should answer. */
  readonly service?: string | undefined;
  /** Known-answer ids ({@link knownId}) of servers the sender knows well: they stay silent. */
  readonly known?: readonly Buffer[] | undefined;
  /**
   * Set by a watcher's refresh query: the port it receives announcements on. An on-link server
   * answers it with an announcement there, which every watcher of the link hears.
   */
  readonly presencePort?: number | undefined;
}

/** A discovery answer. */
export interface ExtendedAnswer extends Envelope {
  /**
   * The server's address on the path the request came: IPv4 dotted decimal (field `address`,
   * 4 bytes) or IPv6 text (field `address6`, 16 bytes, RFC 5952 form when decoded). A zone is
   * not sent (it names an interface of the sender only); an IPv4-mapped IPv6 address is sent as
   * the IPv4 address it carries.
   */
  readonly address: string;
  readonly port?: number | undefined;
  readonly metadata: ServerMetadata;
  /**
   * Milliseconds the server may be believed without hearing from it; absent: a server that
   * does not announce (it is polled). In an announcement: required, 0 is a goodbye.
   */
  readonly lease?: number | undefined;
}

/** An unsolicited answer: a server says it is there (lease > 0) or leaving (lease 0). */
export interface ExtendedAnnouncement extends ExtendedAnswer {
  readonly lease: number;
}

/** A decoded datagram, with what its authentication needs. */
export type Decoded<T> = T & {
  /** Whether the sender set the AUTH flag; the tag is checked with {@link verifyTag}. */
  readonly authenticated: boolean;
  readonly signed: Buffer;
  readonly tag: Buffer | undefined;
};

/** Whether a datagram starts like an extended one (it may still be malformed). */
export function isExtended(datagram: Uint8Array): boolean {
  return (
    datagram.byteLength >= MAGIC.byteLength &&
    Buffer.compare(datagram.subarray(0, MAGIC.byteLength), MAGIC) === 0
  );
}

/** Encodes a request, padded to {@link MIN_REQUEST_SIZE}, and signed when `key` is given. */
export function encodeRequest(request: ExtendedRequest, key?: Uint8Array): Buffer {
  const fields: Buffer[] = [];
  if (request.service !== undefined) fields.push(textField(Field.service, request.service));
  if (request.presencePort !== undefined)
    fields.push(field(Field.presence, u16(request.presencePort)));
  const known = request.known ?? [];
  for (let at = 0; at < Math.min(known.length, MAX_KNOWN); at += 31) {
    fields.push(field(Field.known, Buffer.concat(known.slice(at, Math.min(at + 31, MAX_KNOWN)))));
  }
  const unpadded = HEADER_SIZE + length(fields) + (key ? TAG_SIZE : 0);
  let missing = MIN_REQUEST_SIZE - unpadded;
  while (missing > 0) {
    const size = Math.min(Math.max(missing - 2, 0), 255);
    fields.push(field(Field.padding, Buffer.alloc(size)));
    missing -= size + 2;
  }
  return seal(KIND_REQUEST, request, fields, key);
}

/** Encodes an answer, signed when `key` is given. */
export function encodeAnswer(answer: ExtendedAnswer, key?: Uint8Array): Buffer {
  return encodeServer(KIND_ANSWER, answer, key);
}

/** Encodes an announcement (lease 0: a goodbye), signed when `key` is given. */
export function encodeAnnouncement(announcement: ExtendedAnnouncement, key?: Uint8Array): Buffer {
  return encodeServer(KIND_ANNOUNCEMENT, announcement, key);
}

/**
 * The known-answer id of a server: the first 8 bytes of SHA-256 of its instance id. Short, so
 * that a query can list many; a collision only costs one server a refresh it did not need.
 */
export function knownId(instanceId: string): Buffer {
  return createHash('sha256').update(instanceId).digest().subarray(0, KNOWN_ID_SIZE);
}

function encodeServer(kind: number, answer: ExtendedAnswer, key?: Uint8Array): Buffer {
  const { metadata } = answer;
  const fields = [addressField(answer.address)];
  if (answer.port !== undefined) fields.push(field(Field.port, u16(answer.port)));
  if (answer.lease !== undefined) {
    const lease = Buffer.alloc(4);
    lease.writeUInt32BE(answer.lease);
    fields.push(field(Field.lease, lease));
  }
  fields.push(textField(Field.instanceId, metadata.instanceId));
  const optional: [number, string | undefined][] = [
    [Field.scheme, metadata.scheme],
    [Field.name, metadata.name],
    [Field.serviceName, metadata.service],
    [Field.version, metadata.version],
  ];
  for (const [type, text] of optional) if (text !== undefined) fields.push(textField(type, text));
  for (const [name, text] of Object.entries(metadata.values)) {
    const keyBytes = Buffer.from(name);
    fields.push(
      field(
        Field.value,
        Buffer.concat([Buffer.of(keyBytes.byteLength), keyBytes, Buffer.from(text)]),
      ),
    );
  }
  return seal(kind, answer, fields, key);
}

/** Decodes a request; undefined for anything malformed. Never throws. */
export function decodeRequest(datagram: Uint8Array): Decoded<ExtendedRequest> | undefined {
  const frame = open(datagram, KIND_REQUEST);
  if (!frame) return undefined;
  let service: string | undefined;
  let presencePort: number | undefined;
  const known: Buffer[] = [];
  for (const [type, value] of frame.fields) {
    if (type === Field.service) {
      if (service !== undefined) return undefined;
      service = readText(value, Limits.text);
      if (service === undefined) return undefined;
    } else if (type === Field.presence) {
      if (presencePort !== undefined || value.byteLength !== 2) return undefined;
      presencePort = value.readUInt16BE(0);
      if (presencePort === 0) return undefined;
    } else if (type === Field.known) {
      if (value.byteLength === 0 || value.byteLength % KNOWN_ID_SIZE !== 0) return undefined;
      for (let at = 0; at < value.byteLength; at += KNOWN_ID_SIZE) {
        known.push(value.subarray(at, at + KNOWN_ID_SIZE));
      }
      if (known.length > MAX_KNOWN) return undefined;
    }
  }
  return {
    ...frame.envelope,
    service,
    ...(known.length > 0 ? { known } : {}),
    ...(presencePort === undefined ? {} : { presencePort }),
  };
}

/** Decodes an answer; undefined for anything malformed or incomplete. Never throws. */
export function decodeAnswer(datagram: Uint8Array): Decoded<ExtendedAnswer> | undefined {
  return decodeServer(datagram, KIND_ANSWER);
}

/** Decodes an announcement (lease required); undefined for anything else. Never throws. */
export function decodeAnnouncement(
  datagram: Uint8Array,
): Decoded<ExtendedAnnouncement> | undefined {
  const decoded = decodeServer(datagram, KIND_ANNOUNCEMENT);
  return decoded?.lease === undefined ? undefined : { ...decoded, lease: decoded.lease };
}

function decodeServer(datagram: Uint8Array, kind: number): Decoded<ExtendedAnswer> | undefined {
  const frame = open(datagram, kind);
  if (!frame) return undefined;
  const texts = new Map<number, string>();
  // A Map, not an object: a key such as "__proto__" must neither vanish nor repeat.
  const values = new Map<string, string>();
  let address: string | undefined;
  let port: number | undefined;
  let lease: number | undefined;
  const limits: Record<number, number> = {
    [Field.instanceId]: Limits.text,
    [Field.name]: Limits.text,
    [Field.serviceName]: Limits.text,
    [Field.version]: Limits.version,
    [Field.scheme]: Limits.scheme,
  };
  for (const [type, value] of frame.fields) {
    if (type === Field.address) {
      if (address !== undefined || value.byteLength !== 4) return undefined;
      address = [...value].join('.');
    } else if (type === Field.address6) {
      if (address !== undefined || value.byteLength !== 16) return undefined;
      address = readIPv6(value);
      if (address === undefined) return undefined;
    } else if (type === Field.port) {
      if (port !== undefined || value.byteLength !== 2) return undefined;
      port = value.readUInt16BE(0);
      if (port === 0) return undefined;
    } else if (type === Field.lease) {
      if (lease !== undefined || value.byteLength !== 4) return undefined;
      lease = value.readUInt32BE(0);
      if (lease > MAX_LEASE_MS || (lease === 0 && kind !== KIND_ANNOUNCEMENT)) return undefined;
    } else if (type === Field.value) {
      const keyLength = value[0] ?? 0;
      if (1 + keyLength > value.byteLength) return undefined;
      const name = readText(value.subarray(1, 1 + keyLength), Limits.valueKey);
      const text = readText(value.subarray(1 + keyLength), Limits.valueText, true);
      if (name === undefined || text === undefined || values.has(name)) return undefined;
      if (values.size >= Limits.values) return undefined;
      values.set(name, text);
    } else if (limits[type] !== undefined) {
      const text = readText(value, limits[type]);
      if (text === undefined || texts.has(type)) return undefined;
      texts.set(type, text);
    }
  }
  const instanceId = texts.get(Field.instanceId);
  const scheme = texts.get(Field.scheme);
  if (address === undefined || instanceId === undefined) return undefined;
  if (scheme !== undefined && !SCHEME.test(scheme)) return undefined;
  return {
    ...frame.envelope,
    address,
    port,
    ...(lease === undefined ? {} : { lease }),
    metadata: {
      instanceId,
      name: texts.get(Field.name),
      service: texts.get(Field.serviceName),
      scheme,
      version: texts.get(Field.version),
      values: Object.freeze(Object.fromEntries(values)),
    },
  };
}

/**
 * Returns the first of `keys` whose HMAC-SHA256 of `signed` equals `tag` (compared in constant
 * time), or undefined.
 */
export function verifyTag(
  decoded: { signed: Uint8Array; tag: Uint8Array | undefined },
  keys: readonly Uint8Array[],
): Uint8Array | undefined {
  const { tag } = decoded;
  if (tag?.byteLength !== TAG_SIZE) return undefined;
  return keys.find((key) => timingSafeEqual(sign(decoded.signed, key), tag));
}

/** A URL scheme: a letter, then letters, digits, `+`, `.` or `-`. */
export const SCHEME = /^[a-z][a-z0-9+.-]{0,15}$/;

// C0 and C1 controls, DEL, bidi overrides and lone surrogates: a name must not be able to
// rewrite a terminal or break a JSON consumer.
const UNSAFE_TEXT = /[\p{Cc}\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Whether `text` may travel in a text field of at most `maxBytes`: well-formed, free of control
 * and bidi-override characters, and non-empty unless `allowEmpty`.
 */
export function isSafeText(text: string, maxBytes: number, allowEmpty = false): boolean {
  const size = Buffer.byteLength(text);
  return (allowEmpty || size > 0) && size <= maxBytes && !UNSAFE_TEXT.test(text);
}

function readText(bytes: Buffer, maxBytes: number, allowEmpty = false): string | undefined {
  if (bytes.byteLength > maxBytes) return undefined;
  let text: string;
  try {
    text = STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
  return isSafeText(text, maxBytes, allowEmpty) ? text : undefined;
}

/**
 * The address field for `text`: `address` (4 bytes) for IPv4 and IPv4-mapped IPv6, `address6`
 * (16 bytes, zone dropped) for other IPv6.
 */
function addressField(text: string): Buffer {
  const parsed = parseIPv4(text) === undefined ? parseIPv6(text) : undefined;
  const ipv4 = parsed ? mappedIPv4(parsed.value) : text;
  if (parsed && ipv4 === undefined) {
    const bytes = Buffer.alloc(16);
    bytes.writeBigUInt64BE(parsed.value >> 64n, 0);
    bytes.writeBigUInt64BE(parsed.value & 0xffff_ffff_ffff_ffffn, 8);
    return field(Field.address6, bytes);
  }
  return field(Field.address, Buffer.from((ipv4 ?? text).split('.').map(Number)));
}

/**
 * An `address6` value as text; undefined for addresses no server has (`::`, multicast) and for
 * IPv4-mapped ones, which travel in the 4-byte `address` field.
 */
function readIPv6(bytes: Buffer): string | undefined {
  const value = (bytes.readBigUInt64BE(0) << 64n) | bytes.readBigUInt64BE(8);
  const kind = classifyIPv6(value);
  if (kind === 'unspecified' || kind === 'multicast' || kind === 'ipv4-mapped') return undefined;
  return formatIPv6({ value, zone: undefined });
}

function sign(data: Uint8Array, key: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function u16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value);
  return bytes;
}

function field(type: number, value: Uint8Array): Buffer {
  return Buffer.concat([Buffer.of(type, value.byteLength), value]);
}

function textField(type: number, text: string): Buffer {
  return field(type, Buffer.from(text));
}

function length(buffers: readonly Buffer[]): number {
  return buffers.reduce((sum, buffer) => sum + buffer.byteLength, 0);
}

function seal(kind: number, envelope: Envelope, fields: Buffer[], key?: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  MAGIC.copy(header, 0);
  header[6] = VERSION;
  header[7] = kind;
  header[8] = key ? FLAG_AUTH : 0;
  header[9] = 0;
  header.set(envelope.nonce.subarray(0, NONCE_SIZE), 10);
  header.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(envelope.timestamp))), 26);
  const signed = Buffer.concat([header, ...fields]);
  return key ? Buffer.concat([signed, sign(signed, key)]) : signed;
}

/** Checks the header and splits the fields; undefined when anything is off. */
function open(
  datagram: Uint8Array,
  kind: number,
): { envelope: Decoded<Envelope>; fields: [number, Buffer][] } | undefined {
  if (datagram.byteLength < HEADER_SIZE || datagram.byteLength > MAX_DATAGRAM_SIZE)
    return undefined;
  const bytes = Buffer.from(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  if (!isExtended(bytes) || bytes[6] !== VERSION || bytes[7] !== kind || bytes[9] !== 0) {
    return undefined;
  }
  const flags = bytes[8] ?? 0;
  if ((flags & ~FLAG_AUTH) !== 0) return undefined;
  const authenticated = (flags & FLAG_AUTH) !== 0;
  const end = bytes.byteLength - (authenticated ? TAG_SIZE : 0);
  if (end < HEADER_SIZE) return undefined;
  const fields: [number, Buffer][] = [];
  for (let at = HEADER_SIZE; at < end; ) {
    if (at + 2 > end) return undefined;
    const type = bytes[at] ?? 0;
    const size = bytes[at + 1] ?? 0;
    if (at + 2 + size > end) return undefined;
    fields.push([type, bytes.subarray(at + 2, at + 2 + size)]);
    at += 2 + size;
  }
  const timestamp = Number(bytes.readBigUInt64BE(26));
  return {
    envelope: {
      nonce: Buffer.from(bytes.subarray(10, 10 + NONCE_SIZE)),
      timestamp,
      authenticated,
      signed: bytes.subarray(0, end),
      tag: authenticated ? bytes.subarray(end) : undefined,
    },
    fields,
  };
}
