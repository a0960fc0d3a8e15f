/**
 * Registry records (docs/registry.md): one key per service record,
 * `<prefix>services/<service>/<instanceId>` (each segment percent-encoded; `_` stands for no
 * service), whose value is JSON. With shared keys (`authKeys`) the record carries `sig`: a key
 * id and an HMAC-SHA256 over the key and the canonical record, so that someone who can write
 * to the registry cannot send clients elsewhere. Pure: no I/O, no clock.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { parseIPv4 } from '../network/ipv4.js';
import { classifyIPv6, formatIPv6, parseIPv6 } from '../network/ipv6.js';
import { isSafeText, Limits, MAX_LEASE_MS, SCHEME } from '../protocol/extended.js';

/** The record format's version, `v` in every record. */
export const RECORD_VERSION = 1;
/** Longest record value a reader accepts, in bytes. */
export const MAX_RECORD_BYTES = 4096;
/** Most addresses one record lists. */
export const MAX_RECORD_ADDRESSES = 32;
/** The key segment that stands for "no service". */
export const NO_SERVICE = '_';

/** A service record as stored in the registry. */
export interface RegistryRecord {
  /** {@link RECORD_VERSION}. */
  readonly v: number;
  readonly instanceId: string;
  readonly service?: string | undefined;
  readonly name?: string | undefined;
  readonly version?: string | undefined;
  /** `http`, `https`... */
  readonly scheme: string;
  /** The advertised service's port (the responder's `httpPort`); absent when it has none. */
  readonly port?: number | undefined;
  /**
   * Where the service is reached: `advertiseAddress` when set, else every routable address
   * of its host (IPv4 and IPv6 global or unique-local; no loopback, no link-local), or the one
   * `serviceAddress` when the service listens on one address only.
   */
  readonly addresses: readonly string[];
  /** The registration's lease in milliseconds (the etcd lease's TTL). */
  readonly lease: number;
  /** The metadata pairs (`metadata` option). */
  readonly values?: Readonly<Record<string, string>> | undefined;
  /**
   * A goodbye: written just before the responder revokes its lease (which deletes the key).
   * A delete right after such a put is a graceful stop; a delete alone is a lease that expired.
   */
  readonly gone?: true | undefined;
  /** The signature, when the responder has shared keys. */
  readonly sig?: RecordSignature | undefined;
}

/** `kid`: {@link keyId} of the key; `mac`: base64url HMAC-SHA256 of {@link signedBytes}. */
export interface RecordSignature {
  readonly kid: string;
  readonly mac: string;
}

/** Why {@link decodeRecord} refused a value. */
export type RecordRefusal =
  /** Not JSON, a field out of bounds, a version this code does not read, or not its key. */
  | 'malformed'
  /** The reader has keys and the record is not signed. */
  | 'unsigned'
  /** Signed with a key the reader does not have, or the MAC does not match (tampered). */
  | 'bad-signature';

/** The result of {@link decodeRecord}. */
export type DecodedRecord =
  | { readonly ok: true; readonly record: RegistryRecord; readonly verified: boolean }
  | { readonly ok: false; readonly reason: RecordRefusal; readonly detail: string };

/** The key prefix of every record (`<prefix>services/`), or of one service's records. */
export function servicesPrefix(prefix: string, service?: string): string {
  const base = `${prefix}services/`;
  return service === undefined ? base : `${base}${segment(service)}/`;
}

/** The key of one service record. */
export function recordKey(prefix: string, service: string | undefined, instanceId: string): string {
  return `${servicesPrefix(prefix)}${service === undefined ? NO_SERVICE : segment(service)}/${segment(instanceId)}`;
}

/**
 * A short id of a shared key (8 hex digits): lets a reader pick the key a record was signed
 * with, and says nothing of the key.
 */
function keyId(key: Uint8Array): string {
  return createHmac('sha256', key).update('beckon registry key id').digest('hex').slice(0, 8);
}

/** The bytes a record's MAC covers: a label, its key and the record without `sig`, canonical. */
function signedBytes(key: string, record: Omit<RegistryRecord, 'sig'>): Buffer {
  const { sig: _ignored, ...rest } = record as RegistryRecord;
  return Buffer.from(`beckon-registry-v1\n${key}\n${canonicalJson(rest)}`);
}

/**
 * The value to store for `record` under `key`, signed with `signingKey` when given (the
 * responder's current key, the first of `authKeys`).
 */
export function encodeRecord(
  key: string,
  record: Omit<RegistryRecord, 'sig' | 'v'>,
  signingKey?: Uint8Array,
): string {
  const unsigned = stripUndefined({ v: RECORD_VERSION, ...record }) as Omit<RegistryRecord, 'sig'>;
  if (!signingKey) return JSON.stringify(unsigned);
  const mac = createHmac('sha256', signingKey)
    .update(signedBytes(key, unsigned))
    .digest('base64url');
  return JSON.stringify({ ...unsigned, sig: { kid: keyId(signingKey), mac } });
}

/**
 * Reads and checks the value stored under `key`. With `keys` (the reader's `authKeys`), only
 * records signed with one of them are accepted (`verified: true`); without, a signature is not
 * checked (`verified: false`).
 */
export function decodeRecord(
  key: string,
  value: string,
  options: { readonly keys?: readonly Uint8Array[] } = {},
): DecodedRecord {
  const malformed = (detail: string): DecodedRecord => ({ ok: false, reason: 'malformed', detail });
  if (Buffer.byteLength(value) > MAX_RECORD_BYTES)
    return malformed(`longer than ${MAX_RECORD_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return malformed('not JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return malformed('not a JSON object');
  }
  const r = parsed as Record<string, unknown>;
  if (r.v !== RECORD_VERSION) return malformed(`version ${String(r.v)}, not ${RECORD_VERSION}`);
  const problem = checkFields(r);
  if (problem) return malformed(problem);
  const record = r as unknown as RegistryRecord;
  const service = record.service;
  if (recordKey(keyPrefixOf(key, service, record.instanceId), service, record.instanceId) !== key) {
    return malformed('its key does not match its service and instance id');
  }
  const keys = options.keys ?? [];
  if (keys.length === 0) return { ok: true, record, verified: false };
  const sig = record.sig;
  if (sig === undefined) return { ok: false, reason: 'unsigned', detail: 'not signed' };
  const mac = Buffer.from(sig.mac, 'base64url');
  const expected = signedBytes(key, record);
  for (const candidate of keys) {
    if (keyId(candidate) !== sig.kid) continue;
    const computed = createHmac('sha256', candidate).update(expected).digest();
    if (computed.byteLength === mac.byteLength && timingSafeEqual(computed, mac)) {
      return { ok: true, record, verified: true };
    }
    return { ok: false, reason: 'bad-signature', detail: 'the signature does not match' };
  }
  return { ok: false, reason: 'bad-signature', detail: 'signed with another key' };
}

/** The part of `key` before its `services/...` tail (undefined-safe: a non-matching key fails). */
function keyPrefixOf(key: string, service: string | undefined, instanceId: string): string {
  const tail = recordKey('', service, instanceId);
  return key.endsWith(tail) ? key.slice(0, key.length - tail.length) : '\u0000';
}

function checkFields(r: Record<string, unknown>): string | undefined {
  const text = (name: string, max: number, required = false): string | undefined => {
    const value = r[name];
    if (value === undefined) return required ? `no ${name}` : undefined;
    return typeof value === 'string' && isSafeText(value, max) ? undefined : `bad ${name}`;
  };
  const problem =
    text('instanceId', Limits.text, true) ??
    text('service', Limits.text) ??
    text('name', Limits.text) ??
    text('version', Limits.version);
  if (problem) return problem;
  if (typeof r.scheme !== 'string' || !SCHEME.test(r.scheme)) return 'bad scheme';
  if (
    r.port !== undefined &&
    !(Number.isInteger(r.port) && (r.port as number) >= 1 && (r.port as number) <= 65535)
  ) {
    return 'bad port';
  }
  if (
    !Array.isArray(r.addresses) ||
    r.addresses.length > MAX_RECORD_ADDRESSES ||
    !r.addresses.every((a) => typeof a === 'string' && isAddress(a))
  ) {
    return 'bad addresses';
  }
  if (!Number.isInteger(r.lease) || (r.lease as number) < 1 || (r.lease as number) > MAX_LEASE_MS) {
    return 'bad lease';
  }
  if (r.values !== undefined) {
    const values = r.values;
    if (typeof values !== 'object' || values === null || Array.isArray(values)) return 'bad values';
    const entries = Object.entries(values);
    if (
      entries.length > Limits.values ||
      !entries.every(
        ([k, v]) =>
          isSafeText(k, Limits.valueKey) &&
          typeof v === 'string' &&
          isSafeText(v, Limits.valueText, true),
      )
    ) {
      return 'bad values';
    }
  }
  if (r.gone !== undefined && r.gone !== true) return 'bad gone';
  if (r.sig !== undefined) {
    const sig = r.sig as Record<string, unknown> | null;
    if (
      typeof sig !== 'object' ||
      sig === null ||
      typeof sig.kid !== 'string' ||
      !/^[0-9a-f]{8}$/.test(sig.kid) ||
      typeof sig.mac !== 'string' ||
      !/^[A-Za-z0-9_-]{43}$/.test(sig.mac)
    ) {
      return 'bad sig';
    }
  }
  return undefined;
}

/** An IPv4 address, or an IPv6 one in canonical form without zone (not multicast or unspecified). */
function isAddress(text: string): boolean {
  if (parseIPv4(text) !== undefined) return true;
  const parsed = parseIPv6(text);
  if (!parsed || parsed.zone !== undefined) return false;
  const kind = classifyIPv6(parsed.value);
  return kind !== 'multicast' && kind !== 'unspecified' && formatIPv6(parsed) === text;
}

/** Percent-encodes a key segment; `_` too, so that a service named `_` is not "no service". */
function segment(text: string): string {
  return encodeURIComponent(text).replace(/_/g, '%5F');
}

/** JSON with object keys sorted at every level, so that both sides compute the same bytes. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function stripUndefined(record: object): object {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
