/**
 * Service records handed from one beckon process to the host's answering process over the
 * host-local channel (docs/many-services.md). Pure: validate, encode and decode one
 * newline-delimited JSON line, dedupe. No I/O, no timers.
 */
import { BeckonError, InvalidOptionError } from '../errors.js';
import { MAX_DATAGRAM_SIZE } from '../protocol/extended.js';
import { checkAddress, checkMetadata, checkServiceAddress } from '../responder/options.js';

/** Bounds of the host channel; see docs/many-services.md. */
export const HostLimits = {
  /** Longest line (bytes, without the newline) either side sends. */
  lineBytes: 8 * 1024,
  /** Records the answering process keeps for the whole host. */
  recordsPerHost: 256,
  /** Records one connection (one registrant) may hold. */
  recordsPerConnection: 16,
  /** Longest text field (bytes). */
  textBytes: 255,
  /** Entries in `values`. */
  entries: 32,
  /** Signing requests the answering process leaves open per registrant. */
  pendingSigns: 64,
} as const;

/** A service record as registered by a process on the host. */
export interface HostRecord {
  readonly service?: string;
  readonly name?: string;
  readonly instanceId: string;
  /** Without it, plain replies carry no port (as the original's) and extended answers none. */
  readonly httpPort?: number;
  readonly scheme?: string;
  readonly version?: string;
  readonly values?: Readonly<Record<string, string>>;
  /**
   * The service has `authKeys`. They never leave its process: the answering process hands each
   * signed request for it over the channel (`sign`), and sends the answer the registrant signed.
   */
  readonly keyed?: true;
  /** The one address the service listens on (IPv4 or IPv6), if it is limited to one. */
  readonly serviceAddress?: string;
  /** The IPv4 address advertised to every IPv4 requester instead of the one on its path. */
  readonly advertiseAddress?: string;
  /**
   * The service's `offLink` is `'none'`: the answering process answers no off-link sender for it
   * (outside its `allow`), whatever its own policy. Absent: the answering process's policy.
   */
  readonly offLink?: 'none';
  readonly pid: number;
}

/** Why a line or record was refused. */
export type RecordErrorReason =
  | 'line-too-long'
  | 'bad-json'
  | 'not-object'
  | 'unknown-field'
  | 'bad-field'
  | 'unknown-op'
  | 'too-many-records'
  | 'host-full';

/** A line or record the channel refuses; `reason` is stable, the message is for people. */
export class RecordError extends BeckonError {
  override name = 'RecordError';
  readonly reason: RecordErrorReason;
  /** The offending field, when there is one. */
  readonly field: string | undefined;

  constructor(reason: RecordErrorReason, message: string, field?: string) {
    super('BECKON_ERR_HOST_RECORD', message);
    this.reason = reason;
    this.field = field;
  }
}

/** Registrant → registry. */
export type ClientMessage =
  | { readonly op: 'register'; readonly record: HostRecord }
  | { readonly op: 'unregister'; readonly instanceId: string }
  /** The answer to `sign` request `id`: base64 datagram, or none (not answered). */
  | { readonly op: 'signed'; readonly id: number; readonly answer?: string };

/** Registry → registrant: an acknowledgement, a refusal, or a request for a keyed record. */
export type ServerMessage =
  | { readonly op: 'ok'; readonly instanceId: string }
  | { readonly op: 'error'; readonly reason: RecordErrorReason; readonly message: string }
  | SignMessage;

/**
 * A signed request (base64 datagram) for the keyed record `instanceId`, which the registry would
 * answer advertising `address`: the registrant checks it with its own keys and signs the answer.
 */
export interface SignMessage {
  readonly op: 'sign';
  readonly id: number;
  readonly instanceId: string;
  readonly request: string;
  readonly address: string;
}

const FIELDS = new Set([
  'service',
  'name',
  'instanceId',
  'httpPort',
  'scheme',
  'version',
  'values',
  'keyed',
  'serviceAddress',
  'advertiseAddress',
  'offLink',
  'pid',
]);
const REASONS = new Set<string>([
  'line-too-long',
  'bad-json',
  'not-object',
  'unknown-field',
  'bad-field',
  'unknown-op',
  'too-many-records',
  'host-full',
] satisfies RecordErrorReason[]);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const SCHEME = /^[a-z][a-z0-9+.-]{0,15}$/;

/**
 * Checks `input` (parsed JSON) and returns a fresh record holding only known fields.
 * @throws RecordError naming the field and what is allowed.
 */
export function validateRecord(input: unknown): HostRecord {
  const object = plainObject(input, 'record');
  for (const key of Object.keys(object)) {
    if (!FIELDS.has(key)) {
      throw new RecordError('unknown-field', `Unknown record field ${JSON.stringify(key)}`, key);
    }
  }
  const record: {
    -readonly [K in keyof HostRecord]: HostRecord[K];
  } = {
    instanceId: text(object, 'instanceId', true) as string,
    pid: integer(object, 'pid', 1, 2 ** 31 - 1),
  };
  if (object.httpPort !== undefined) record.httpPort = integer(object, 'httpPort', 1, 65535);
  for (const key of ['service', 'name', 'version', 'serviceAddress', 'advertiseAddress'] as const) {
    const value = text(object, key, false);
    if (value !== undefined) record[key] = value;
  }
  if (object.scheme !== undefined) {
    if (typeof object.scheme !== 'string' || !SCHEME.test(object.scheme)) {
      throw bad('scheme', object.scheme, 'a URL scheme such as "http" or "https"');
    }
    record.scheme = object.scheme;
  }
  if (object.values !== undefined) record.values = values(object.values);
  if (object.keyed !== undefined) {
    if (object.keyed !== true) throw bad('keyed', object.keyed, 'true, or no field');
    record.keyed = true;
  }
  if (object.offLink !== undefined) {
    if (object.offLink !== 'none') throw bad('offLink', object.offLink, '"none", or no field');
    record.offLink = 'none';
  }
  // What the answers can carry: the same bounds as a responder's own options.
  asRecordError(() => {
    checkMetadata({ ...record, ...(record.values ? { metadata: record.values } : {}) });
    if (record.serviceAddress !== undefined) checkServiceAddress(record.serviceAddress);
    if (record.advertiseAddress !== undefined)
      checkAddress('advertiseAddress', record.advertiseAddress);
  });
  return record;
}

/** One line (without the newline) for `message`. @throws RecordError when it exceeds the bound. */
export function encodeLine(message: ClientMessage | ServerMessage): string {
  const line = JSON.stringify(message);
  if (Buffer.byteLength(line) > HostLimits.lineBytes) {
    throw new RecordError(
      'line-too-long',
      `Line of ${Buffer.byteLength(line)} bytes (at most ${HostLimits.lineBytes})`,
    );
  }
  return line;
}

/** Parses a registrant's line. @throws RecordError for anything but a valid message. */
export function decodeClientLine(line: string): ClientMessage {
  const object = parseLine(line);
  if (object.op === 'register') {
    checkKeys(object, ['op', 'record']);
    return { op: 'register', record: validateRecord(object.record) };
  }
  if (object.op === 'unregister') {
    checkKeys(object, ['op', 'instanceId']);
    return { op: 'unregister', instanceId: text(object, 'instanceId', true) as string };
  }
  if (object.op === 'signed') {
    checkKeys(object, ['op', 'id', 'answer']);
    const id = integer(object, 'id', 1, Number.MAX_SAFE_INTEGER);
    return object.answer === undefined
      ? { op: 'signed', id }
      : { op: 'signed', id, answer: datagram(object, 'answer') };
  }
  throw new RecordError(
    'unknown-op',
    `Unknown op ${describe(object.op)} (expected "register", "unregister" or "signed")`,
    'op',
  );
}

/** Parses the registry's line. @throws RecordError for anything but a valid message. */
export function decodeServerLine(line: string): ServerMessage {
  const object = parseLine(line);
  if (object.op === 'ok')
    return { op: 'ok', instanceId: text(object, 'instanceId', true) as string };
  if (object.op === 'error') {
    const reason = text(object, 'reason', true) as RecordErrorReason;
    if (!REASONS.has(reason)) throw bad('reason', reason, 'a known refusal reason');
    const message = typeof object.message === 'string' ? object.message : '';
    return { op: 'error', reason, message };
  }
  if (object.op === 'sign') {
    checkKeys(object, ['op', 'id', 'instanceId', 'request', 'address']);
    return {
      op: 'sign',
      id: integer(object, 'id', 1, Number.MAX_SAFE_INTEGER),
      instanceId: text(object, 'instanceId', true) as string,
      request: datagram(object, 'request'),
      address: text(object, 'address', true) as string,
    };
  }
  throw new RecordError(
    'unknown-op',
    `Unknown op ${describe(object.op)} (expected "ok", "error" or "sign")`,
    'op',
  );
}

/** The error line the registry sends for `error` (never contains a secret). */
export function errorMessage(error: RecordError): ServerMessage {
  return { op: 'error', reason: error.reason, message: error.message };
}

/**
 * The records that count: one per instance id (the first wins), and one per identical content
 * (cluster workers of one app register the same service from different pids).
 */
export function dedupeRecords(records: Iterable<HostRecord>): HostRecord[] {
  const ids = new Set<string>();
  const contents = new Set<string>();
  const out: HostRecord[] = [];
  for (const record of records) {
    const content = contentKey(record);
    if (ids.has(record.instanceId) || contents.has(content)) continue;
    ids.add(record.instanceId);
    contents.add(content);
    out.push(record);
  }
  return out;
}

/** What makes two records "the same service": every field except instanceId and pid. */
function contentKey(record: HostRecord): string {
  const { instanceId: _id, pid: _pid, values, ...rest } = record;
  const sortedValues = values
    ? Object.keys(values)
        .sort()
        .map((k) => [k, values[k]])
    : [];
  const fields = Object.keys(rest)
    .sort()
    .map((k) => [k, rest[k as keyof typeof rest]]);
  return JSON.stringify([fields, sortedValues]);
}

function parseLine(line: string): Record<string, unknown> {
  if (Buffer.byteLength(line) > HostLimits.lineBytes) {
    throw new RecordError('line-too-long', `Line longer than ${HostLimits.lineBytes} bytes`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new RecordError('bad-json', 'Line is not JSON');
  }
  return plainObject(parsed, 'message');
}

function plainObject(input: unknown, what: string): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new RecordError(
      'not-object',
      `The ${what} must be a JSON object, got ${describe(input)}`,
    );
  }
  const object = input as Record<string, unknown>;
  for (const key of Object.keys(object)) {
    if (FORBIDDEN_KEYS.has(key)) {
      throw new RecordError(
        'unknown-field',
        `Forbidden key ${JSON.stringify(key)} in the ${what}`,
        key,
      );
    }
  }
  return object;
}

function checkKeys(object: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) {
      throw new RecordError('unknown-field', `Unknown field ${JSON.stringify(key)}`, key);
    }
  }
}

function text(
  object: Record<string, unknown>,
  field: string,
  required: boolean,
): string | undefined {
  const value = object[field];
  if (value === undefined && !required) return undefined;
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    Buffer.byteLength(value) > HostLimits.textBytes
  ) {
    throw bad(field, value, `a non-empty string of at most ${HostLimits.textBytes} bytes`);
  }
  return value;
}

function integer(object: Record<string, unknown>, field: string, min: number, max: number): number {
  const value = object[field];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(field, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

function values(input: unknown): Record<string, string> {
  const object = plainObject(input, 'values');
  const keys = Object.keys(object);
  if (keys.length > HostLimits.entries) {
    throw bad('values', `${keys.length} entries`, `at most ${HostLimits.entries} entries`);
  }
  const out: Record<string, string> = Object.create(null);
  for (const key of keys) {
    if (key.length === 0 || Buffer.byteLength(key) > HostLimits.textBytes) {
      throw bad('values', key, 'keys of 1 to 255 bytes');
    }
    const value = object[key];
    if (typeof value !== 'string' || Buffer.byteLength(value) > HostLimits.textBytes) {
      throw bad(`values.${key}`, value, `a string of at most ${HostLimits.textBytes} bytes`);
    }
    out[key] = value;
  }
  return out;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A base64 datagram of at most one extended datagram's size. */
function datagram(object: Record<string, unknown>, field: string): string {
  const value = object[field];
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > Math.ceil(MAX_DATAGRAM_SIZE / 3) * 4 ||
    !BASE64.test(value)
  ) {
    throw bad(field, value, `a base64 datagram of at most ${MAX_DATAGRAM_SIZE} bytes`);
  }
  return value;
}

/** Runs `check`, turning an InvalidOptionError into the record's `bad-field` (message and all). */
function asRecordError(check: () => void): void {
  try {
    check();
  } catch (error) {
    if (!(error instanceof InvalidOptionError)) throw error;
    throw new RecordError('bad-field', error.message, error.option);
  }
}

function bad(field: string, value: unknown, allowed: string): RecordError {
  return new RecordError(
    'bad-field',
    `Invalid ${field}: ${describe(value)} (expected ${allowed})`,
    field,
  );
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const json = JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 57)}...` : json;
}
