/**
 * Property tests (fast-check) for every decoder: whatever the bytes, they never throw, and
 * whatever they accept is valid. Plus round trips and tamper-evidence of the encoders.
 */
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  cidrContains,
  formatIPv4,
  parseCidr,
  parseIPv4,
  prefixMask,
} from '../../src/network/ipv4.js';
import { classifyIPv6, formatIPv6, parseIPv6 } from '../../src/network/ipv6.js';
import {
  type Decoded,
  decodeAnnouncement,
  decodeAnswer,
  decodeRequest,
  type ExtendedAnswer,
  type ExtendedRequest,
  encodeAnswer,
  encodeRequest,
  Field,
  isExtended,
  KNOWN_ID_SIZE,
  Limits,
  MAGIC,
  MAX_ANSWER_SIZE,
  MAX_DATAGRAM_SIZE,
  MAX_KNOWN,
  MAX_LEASE_MS,
  MIN_REQUEST_SIZE,
  NONCE_SIZE,
  SCHEME,
  type ServerMetadata,
  TAG_SIZE,
  verifyTag,
} from '../../src/protocol/extended.js';
import {
  decodeFernetKey,
  decryptFernet,
  encryptFernet,
  type FernetKey,
} from '../../src/protocol/fernet.js';
import { encodeReply, isRequest, parsePlainReply } from '../../src/protocol/plain.js';
import { pyDecodeIgnore, pyInt, pyStrip } from '../../src/protocol/python-text.js';

const PREFIX = Buffer.from('SERVER_IP:');
const REQUEST = Buffer.from('DISCOVER_SERVER');
const RUNS = 3000;
const MANY = 5000;

// Independent of the source's own definitions on purpose.
const UNSAFE = /[\p{Cc}\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
const UNSAFE_ALL = /[\p{Cc}\u202a-\u202e\u2066-\u2069]|\p{Cs}/gu;
const PY_WHITESPACE = [
  '\t',
  '\n',
  '\v',
  '\f',
  '\r',
  '\x1c',
  '\x1d',
  '\x1e',
  '\x1f',
  ' ',
  '\x85',
  '\xa0',
  '\u1680',
  '\u2000',
  '\u200a',
  '\u2028',
  '\u2029',
  '\u202f',
  '\u205f',
  '\u3000',
];

// ---------------------------------------------------------------------------------------------
// Generators

const bytes = (maxLength = 1500) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; tail: Uint8Array }
  | { kind: 'insert'; at: number; value: number }
  | { kind: 'delete'; at: number };

const byteValue = fc.integer({ min: 0, max: 255 });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: byteValue }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('extend' as const),
    tail: fc.uint8Array({ minLength: 1, maxLength: 64 }),
  }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: byteValue }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
);

function applyMutation(input: Buffer, m: Mutation): Buffer {
  const length = input.byteLength;
  switch (m.kind) {
    case 'flip':
    case 'set': {
      if (length === 0) return input;
      const out = Buffer.from(input);
      const at = m.at % length;
      out[at] = m.kind === 'flip' ? (out[at] ?? 0) ^ (1 << m.bit) : m.value;
      return out;
    }
    case 'truncate':
      return input.subarray(0, m.at % (length + 1));
    case 'extend':
      return Buffer.concat([input, m.tail]);
    case 'insert': {
      const at = m.at % (length + 1);
      return Buffer.concat([input.subarray(0, at), Buffer.of(m.value), input.subarray(at)]);
    }
    case 'delete': {
      if (length === 0) return input;
      const at = m.at % length;
      return Buffer.concat([input.subarray(0, at), input.subarray(at + 1)]);
    }
  }
}

/** `base` with one to four random byte-level mutations. */
const mutated = (base: fc.Arbitrary<Buffer>) =>
  fc
    .tuple(base, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([input, mutations]) => mutations.reduce(applyMutation, input));

/** Cuts `text` to at most `maxBytes` of UTF-8, on a code point boundary. */
function clip(text: string, maxBytes: number): string {
  let out = '';
  let size = 0;
  for (const ch of text) {
    const chSize = Buffer.byteLength(ch);
    if (size + chSize > maxBytes) break;
    out += ch;
    size += chSize;
  }
  return out;
}

/** Text that may travel in a field of at most `maxBytes`: no controls, no bidi overrides. */
const safeText = (maxBytes: number, allowEmpty = false) =>
  fc
    .oneof(
      fc.string({ unit: 'grapheme-ascii', maxLength: maxBytes }),
      fc.string({ unit: 'binary', maxLength: maxBytes }),
      fc.string({ unit: 'grapheme', maxLength: 24 }),
      fc.constantFrom('constructor', 'toString', 'hasOwnProperty', 'valueOf', 'x', 'é', '💡'),
    )
    .map((text) => clip(text.replace(UNSAFE_ALL, ''), maxBytes))
    .filter((text) => allowEmpty || text.length > 0);

const scheme = fc.stringMatching(SCHEME);

const metadataValues: fc.Arbitrary<Record<string, string>> = fc
  .dictionary(
    safeText(Limits.valueKey).filter((key) => key !== '__proto__'), // see the dedicated test
    safeText(Limits.valueText, true),
    { maxKeys: Limits.values },
  )
  .filter(
    (values) =>
      Object.entries(values).reduce(
        (sum, [k, v]) => sum + Buffer.byteLength(k) + Buffer.byteLength(v),
        0,
      ) <= Limits.valuesTotal,
  );

const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Metadata a responder accepts in its options (see src/responder/options.ts checkMetadata). */
const metadata: fc.Arbitrary<ServerMetadata> = fc.record({
  instanceId: safeText(Limits.text),
  name: optional(safeText(Limits.text)),
  service: optional(safeText(Limits.text)),
  scheme: optional(scheme),
  version: optional(safeText(Limits.version)),
  values: metadataValues,
});

const nonce = fc
  .uint8Array({ minLength: NONCE_SIZE, maxLength: NONCE_SIZE })
  .map((b) => Buffer.from(b));
const timestamp = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const port = fc.integer({ min: 1, max: 65535 });
const authKey = fc.uint8Array({ minLength: 16, maxLength: 256 }).map((b) => Buffer.from(b));
const key32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b));

/** An IPv6 address a server may have (not ::, multicast or IPv4-mapped), in RFC 5952 text. */
const serverIPv6 = fc
  .bigInt({ min: 1n, max: (1n << 128n) - 1n })
  .filter((v) => !['unspecified', 'multicast', 'ipv4-mapped'].includes(classifyIPv6(v)))
  .map((value) => formatIPv6({ value, zone: undefined }));
const answer: fc.Arbitrary<ExtendedAnswer> = fc.record({
  nonce,
  timestamp,
  address: fc.oneof(fc.ipV4(), serverIPv6),
  port: optional(port),
  metadata,
});
const request: fc.Arbitrary<ExtendedRequest> = fc.record({
  nonce,
  timestamp,
  service: optional(safeText(Limits.text)),
});

/** A signed request or answer, with the key it was signed with. */
const signedDatagram = fc.oneof(
  fc.tuple(request, authKey).map(([r, key]) => ({ datagram: encodeRequest(r, key), key })),
  fc.tuple(answer, authKey).map(([a, key]) => ({ datagram: encodeAnswer(a, key), key })),
);

const field = (type: number, value: Uint8Array) =>
  Buffer.concat([Buffer.of(type, value.byteLength & 0xff), value]);

/** Bytes for a text field: mostly good text, else text with controls, or raw junk. */
const textBytes = fc.oneof(
  { arbitrary: safeText(Limits.version).map((t) => Buffer.from(t)), weight: 10 },
  { arbitrary: safeText(80, true).map((t) => Buffer.from(t)), weight: 2 },
  { arbitrary: scheme.map((t) => Buffer.from(t)), weight: 4 },
  {
    arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((t) => Buffer.from(t)),
    weight: 1,
  },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((t) => Buffer.from(t)), weight: 1 },
  { arbitrary: bytes(80), weight: 1 },
);

const weighted = <T>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<T>, odds = 8) =>
  fc.oneof({ arbitrary: usual, weight: odds }, { arbitrary: rare, weight: 1 });

/** One answer field, usually well formed, sometimes with a wrong size or an unknown type. */
const answerField: fc.Arbitrary<[number, Buffer]> = fc.oneof(
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant(Field.address),
      weighted(
        fc.ipV4().map((ip) => Buffer.from(ip.split('.').map(Number))),
        bytes(8),
        4,
      ),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constant(Field.address6),
      weighted(
        fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b)),
        bytes(20),
        4,
      ),
    ),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(
      fc.constant(Field.port),
      weighted(
        fc.integer({ min: 0, max: 65535 }).map((p) => Buffer.of(p >> 8, p & 0xff)),
        bytes(4),
        4,
      ),
    ),
  },
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.constantFrom(Field.instanceId, Field.name, Field.serviceName, Field.version, Field.scheme),
      textBytes,
    ),
  },
  {
    weight: 5,
    arbitrary: fc.tuple(
      fc.constant(Field.value),
      weighted(
        fc
          .tuple(textBytes, textBytes)
          .map(([k, v]) => Buffer.concat([Buffer.of(k.byteLength & 0xff), k, v])),
        bytes(200),
        4,
      ),
    ),
  },
  { weight: 2, arbitrary: fc.tuple(byteValue, bytes(40)) },
);

const requestField: fc.Arbitrary<[number, Buffer]> = fc.oneof(
  fc.tuple(fc.constant(Field.service), textBytes),
  fc.tuple(fc.constant(Field.padding), bytes(255)),
  fc.tuple(byteValue, bytes(40)),
);

/**
 * A datagram with a mostly valid header, then fields (rarely with a wrong length byte), then a
 * tag that usually matches the AUTH flag. Valid often enough to reach the accepting paths.
 */
function framed(kind: number, fieldArb: fc.Arbitrary<[number, Buffer]>, required: Buffer[]) {
  return fc
    .record({
      version: weighted(fc.constant(1), byteValue),
      kind: weighted(fc.constant(kind), byteValue),
      flags: weighted(fc.constantFrom(0, 1), byteValue),
      reserved: weighted(fc.constant(0), byteValue),
      nonce,
      timestamp: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      withRequired: weighted(fc.constant(true), fc.constant(false), 3),
      fields: fc.array(fc.tuple(fieldArb, weighted(fc.constant(undefined), byteValue, 12)), {
        maxLength: 4,
      }),
      tag: weighted(
        fc.constant('consistent' as const),
        fc.constantFrom('hmac' as const, 'random' as const, 'none' as const),
        4,
      ),
      key: authKey,
      padTo: fc.option(fc.integer({ min: 0, max: 1400 }), { nil: undefined, freq: 2 }),
    })
    .map((g) => {
      const header = Buffer.alloc(34);
      MAGIC.copy(header);
      header[6] = g.version;
      header[7] = g.kind;
      header[8] = g.flags;
      header[9] = g.reserved;
      g.nonce.copy(header, 10);
      header.writeBigUInt64BE(g.timestamp, 26);
      const body = g.fields.map(([[type, value], wrongLength]) =>
        wrongLength === undefined
          ? field(type, value)
          : Buffer.concat([Buffer.of(type, wrongLength), value]),
      );
      const parts = [header, ...(g.withRequired ? required : []), ...body];
      if (g.padTo !== undefined) {
        let size = parts.reduce((sum, p) => sum + p.byteLength, 0);
        while (size + 2 <= g.padTo) {
          const pad = Math.min(g.padTo - size - 2, 255);
          parts.push(field(Field.padding, Buffer.alloc(pad)));
          size += pad + 2;
        }
      }
      const signed = Buffer.concat(parts);
      const tag = g.tag === 'consistent' ? (g.flags & 1 ? 'hmac' : 'none') : g.tag;
      if (tag === 'none') return signed;
      const mac =
        tag === 'hmac'
          ? createHmac('sha256', g.key).update(signed).digest()
          : randomBytes(TAG_SIZE);
      return Buffer.concat([signed, mac]);
    });
}

const validAnswerSample = encodeAnswer({
  nonce: Buffer.alloc(NONCE_SIZE, 7),
  timestamp: 1_767_225_600_000,
  address: '127.0.0.1',
  port: 8080,
  metadata: {
    instanceId: 'instance-1',
    name: 'Kitchen',
    service: 'shop',
    scheme: 'https',
    version: '1.2.3',
    values: { region: 'eu', empty: '' },
  },
});

const answerish = framed(0x41, answerField, [
  field(Field.address, Buffer.of(127, 0, 0, 1)),
  field(Field.instanceId, Buffer.from('id')),
]);
const requestish = framed(0x51, requestField, []);

const extendedInputs = fc.oneof(
  bytes(),
  bytes(64).map((tail) => Buffer.concat([MAGIC, tail])),
  answerish,
  requestish,
  mutated(answerish),
  mutated(requestish),
  mutated(
    fc.tuple(answer, fc.option(key32, { nil: undefined })).map(([a, k]) => encodeAnswer(a, k)),
  ),
  mutated(
    fc.tuple(request, fc.option(key32, { nil: undefined })).map(([r, k]) => encodeRequest(r, k)),
  ),
  mutated(fc.constant(validAnswerSample)),
  bytes(1400).map((tail) => Buffer.concat([validAnswerSample, tail])), // oversized
);

// ---------------------------------------------------------------------------------------------
// Validity checks

function assertSafeText(text: unknown, maxBytes: number, allowEmpty = false): void {
  assert.equal(typeof text, 'string');
  const size = Buffer.byteLength(text as string);
  assert.ok(size <= maxBytes, `${JSON.stringify(text)} is ${size} bytes, over ${maxBytes}`);
  assert.ok(allowEmpty || size > 0, 'empty text');
  assert.ok(!UNSAFE.test(text as string), `unsafe characters in ${JSON.stringify(text)}`);
}

function assertEnvelope(
  decoded: Decoded<object> & { nonce: Buffer; timestamp: number },
  datagram: Buffer,
) {
  assert.equal(decoded.nonce.byteLength, NONCE_SIZE);
  assert.ok(Number.isInteger(decoded.timestamp) && decoded.timestamp >= 0);
  assert.equal(typeof decoded.authenticated, 'boolean');
  assert.ok(datagram.subarray(0, decoded.signed.byteLength).equals(decoded.signed));
  if (decoded.authenticated) {
    assert.equal(decoded.tag?.byteLength, TAG_SIZE);
    assert.equal(decoded.signed.byteLength + TAG_SIZE, datagram.byteLength);
  } else {
    assert.equal(decoded.tag, undefined);
    assert.equal(decoded.signed.byteLength, datagram.byteLength);
  }
}

function assertValidAnswer(decoded: Decoded<ExtendedAnswer>, datagram: Buffer): void {
  assertEnvelope(decoded, datagram);
  assert.ok(datagram.byteLength <= MAX_DATAGRAM_SIZE);
  const ipv6 = parseIPv6(decoded.address);
  assert.ok(
    parseIPv4(decoded.address) !== undefined ||
      (ipv6 !== undefined &&
        ipv6.zone === undefined &&
        formatIPv6(ipv6) === decoded.address &&
        !['unspecified', 'multicast', 'ipv4-mapped'].includes(classifyIPv6(ipv6.value))),
    `address ${decoded.address}`,
  );
  if (decoded.port !== undefined) {
    assert.ok(Number.isInteger(decoded.port) && decoded.port >= 1 && decoded.port <= 65535);
  }
  const m = decoded.metadata;
  assertSafeText(m.instanceId, Limits.text);
  if (m.name !== undefined) assertSafeText(m.name, Limits.text);
  if (m.service !== undefined) assertSafeText(m.service, Limits.text);
  if (m.version !== undefined) assertSafeText(m.version, Limits.version);
  if (m.scheme !== undefined) {
    assertSafeText(m.scheme, Limits.scheme);
    assert.match(m.scheme, SCHEME);
  }
  const entries = Object.entries(m.values);
  assert.ok(entries.length <= Limits.values, `${entries.length} values`);
  for (const [k, v] of entries) {
    assertSafeText(k, Limits.valueKey);
    assertSafeText(v, Limits.valueText, true);
  }
}

function assertValidRequest(decoded: Decoded<ExtendedRequest>, datagram: Buffer): void {
  assertEnvelope(decoded, datagram);
  if (decoded.service !== undefined) assertSafeText(decoded.service, Limits.text);
  assert.ok((decoded.known?.length ?? 0) <= MAX_KNOWN);
  for (const id of decoded.known ?? []) assert.equal(id.byteLength, KNOWN_ID_SIZE);
  const port = decoded.presencePort;
  assert.ok(port === undefined || (Number.isInteger(port) && port >= 1 && port <= 65535));
}

/** Never throws; undefined or valid. Returns whether it decoded. */
function checkAnswer(datagram: Buffer): boolean {
  const decoded = decodeAnswer(datagram);
  if (decoded !== undefined) assertValidAnswer(decoded, datagram);
  // The same bytes as an announcement: never both, and a lease within bounds.
  const announcement = decodeAnnouncement(datagram);
  if (announcement !== undefined) {
    assert.equal(decoded, undefined);
    assertValidAnswer(announcement, datagram);
    assert.ok(announcement.lease >= 0 && announcement.lease <= MAX_LEASE_MS);
  }
  if (decoded?.lease !== undefined) assert.ok(decoded.lease > 0 && decoded.lease <= MAX_LEASE_MS);
  return decoded !== undefined;
}

function checkRequest(datagram: Buffer): boolean {
  const decoded = decodeRequest(datagram);
  if (decoded !== undefined) assertValidRequest(decoded, datagram);
  return decoded !== undefined;
}

// ---------------------------------------------------------------------------------------------
// plain.ts

describe('properties: plain protocol', () => {
  const space = fc.constantFrom(
    '',
    '',
    ' ',
    '\t',
    '\n',
    '\r',
    '\v',
    '\f',
    '\x1c',
    '\x85',
    '\xa0',
    '\u3000',
  );
  const digitSets = [0x30, 0x660, 0x966, 0xff10, 0x1d7ce];
  const numberText = fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 255 }).map(String), weight: 12 },
    { arbitrary: fc.integer({ min: -300, max: 70_000 }).map(String), weight: 2 },
    {
      arbitrary: fc
        .tuple(fc.integer({ min: 0, max: 255 }), fc.constantFrom(...digitSets))
        .map(([n, base]) =>
          [...String(n)].map((d) => String.fromCodePoint(base + Number(d))).join(''),
        ),
      weight: 2,
    },
    {
      arbitrary: fc.integer({ min: 0, max: 65_535 }).map((n) => [...String(n)].join('_')),
      weight: 1,
    },
    { arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 6 }), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        '',
        '+1',
        '-0',
        '0x1',
        '1e2',
        '00',
        '1__0',
        '_1',
        '1_',
        '\ufffd',
        '１',
      ),
      weight: 1,
    },
  );
  const pad = weighted(fc.constant(''), space, 3);
  const part = fc.tuple(pad, numberText, pad).map(([a, b, c]) => a + b + c);
  const replyText = fc
    .tuple(
      weighted(
        fc.array(part, { minLength: 4, maxLength: 4 }),
        fc.array(part, { minLength: 1, maxLength: 6 }),
        3,
      ),
      fc.option(part, { nil: undefined }),
      space,
    )
    .map(([parts, p, tail]) =>
      Buffer.from(`SERVER_IP:${parts.join('.')}${p === undefined ? '' : `:${p}`}${tail}`),
    );
  const validReply = fc
    .tuple(fc.ipV4(), fc.option(port, { nil: undefined }))
    .map(([ip, p]) => encodeReply('SERVER_IP:', ip, p));

  const plainInputs = fc.oneof(
    bytes(),
    bytes(200).map((tail) => Buffer.concat([PREFIX, tail])),
    { arbitrary: replyText, weight: 3 },
    mutated(replyText),
    mutated(validReply),
    bytes(5000).map((tail) => Buffer.concat([PREFIX, Buffer.from('10.0.0.1:80'), tail])),
  );

  it('parsePlainReply never throws and accepts only a canonical IPv4 and a port in 1..65535', (t) => {
    let accepted = 0;
    fc.assert(
      fc.property(plainInputs, (datagram) => {
        const reply = parsePlainReply(datagram, PREFIX);
        if (reply === undefined) return;
        accepted++;
        assert.notEqual(parseIPv4(reply.ip), undefined, `ip ${JSON.stringify(reply.ip)}`);
        assert.ok(Number.isInteger(reply.port), `port ${reply.port}`);
        assert.ok(reply.port >= 1 && reply.port <= 65535, `port ${reply.port}`);
        assert.equal(typeof reply.hasPort, 'boolean');
        if (!reply.hasPort) assert.equal(reply.port, 8000);
        assert.ok(reply.ipText.length > 0 && pyStrip(reply.ipText) === reply.ipText);
      }),
      { numRuns: MANY },
    );
    t.diagnostic(`${accepted} of ${MANY} inputs were accepted`);
    assert.ok(accepted > MANY / 25, `only ${accepted} of ${MANY} inputs were accepted`);
  });

  it('parsePlainReply never throws with an arbitrary prefix', () => {
    fc.assert(
      fc.property(bytes(), bytes(16), (datagram, prefix) => {
        const reply = parsePlainReply(datagram, prefix);
        if (reply) assert.notEqual(parseIPv4(reply.ip), undefined);
      }),
      { numRuns: RUNS },
    );
  });

  it('parsePlainReply reads back every reply encodeReply makes', () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.option(port, { nil: undefined }), (ip, p) => {
        const reply = parsePlainReply(encodeReply('SERVER_IP:', ip, p), PREFIX);
        assert.deepEqual(reply, { ip, ipText: ip, port: p ?? 8000, hasPort: p !== undefined });
      }),
      { numRuns: RUNS },
    );
  });

  it('isRequest is true exactly when the first bufferSize bytes are the message', () => {
    const near = fc.oneof(
      bytes(64),
      mutated(fc.constant(REQUEST)),
      fc.constant(REQUEST),
      bytes(2000).map((tail) => Buffer.concat([REQUEST, tail])),
      fc.constant(Buffer.from('discover_server')),
    );
    fc.assert(
      fc.property(near, fc.integer({ min: 15, max: 2048 }), (datagram, bufferSize) => {
        const expected = Buffer.from(datagram.subarray(0, bufferSize)).equals(REQUEST);
        assert.equal(isRequest(datagram, REQUEST, bufferSize), expected);
        assert.equal(isRequest(datagram, REQUEST), datagram.subarray(0, 1024).equals(REQUEST));
      }),
      { numRuns: MANY },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// python-text.ts

describe('properties: Python text semantics', () => {
  it('pyStrip returns an idempotent inner slice without surrounding Python whitespace', () => {
    const ws = fc.array(fc.constantFrom(...PY_WHITESPACE), { maxLength: 4 }).map((a) => a.join(''));
    fc.assert(
      fc.property(ws, fc.string({ unit: 'binary', maxLength: 40 }), ws, (a, text, b) => {
        const stripped = pyStrip(a + text + b);
        assert.ok((a + text + b).includes(stripped));
        assert.equal(pyStrip(stripped), stripped);
        assert.equal(stripped, pyStrip(text));
        if (stripped.length > 0) {
          assert.ok(!PY_WHITESPACE.includes(stripped.charAt(0)));
          assert.ok(!PY_WHITESPACE.includes(stripped.charAt(stripped.length - 1)));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('pyInt never throws and reads decimal integers as Python int() does', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (text) => {
        const value = pyInt(text);
        if (value !== undefined) assert.ok(typeof value === 'number' && !Number.isNaN(value));
      }),
      { numRuns: RUNS },
    );
    const digitSets = [0x30, 0x660, 0x6f0, 0x966, 0xe50, 0xff10, 0x1d7ce, 0x1d7f6];
    fc.assert(
      fc.property(
        fc.integer({ min: -1e12, max: 1e12 }),
        fc.constantFrom(...digitSets),
        fc.constantFrom('', ' ', '\t', '\n \r', '\u3000'),
        fc.boolean(),
        fc.boolean(),
        (n, base, pad, underscores, plus) => {
          let digits = [...String(Math.abs(n))].map((d) => String.fromCodePoint(base + Number(d)));
          if (underscores) digits = [digits.join('_')];
          const sign = n < 0 ? '-' : plus ? '+' : '';
          assert.equal(pyInt(`${pad}${sign}${digits.join('')}${pad}`), n === 0 ? 0 : n);
        },
      ),
      { numRuns: RUNS },
    );
    for (const bad of [
      '',
      ' ',
      '+',
      '-',
      '1__0',
      '_1',
      '1_',
      '0x10',
      '1e3',
      '1.0',
      '1 0',
      '\x1c1',
    ]) {
      assert.equal(pyInt(bad), undefined, JSON.stringify(bad));
    }
  });

  it('pyDecodeIgnore never throws, drops invalid sequences, and refuses a real U+FFFD', () => {
    const replacement = Buffer.from([0xef, 0xbf, 0xbd]);
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(300),
          mutated(fc.string({ unit: 'binary', maxLength: 60 }).map((t) => Buffer.from(t))),
        ),
        (input) => {
          const text = pyDecodeIgnore(input);
          assert.equal(text === undefined, input.includes(replacement));
          if (text !== undefined) {
            assert.ok(!text.includes('\ufffd'));
            assert.ok(Buffer.byteLength(text) <= input.byteLength);
            assert.equal(Buffer.from(text).toString('utf8'), text, 'not well formed');
          }
        },
      ),
      { numRuns: MANY },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (text) => {
        fc.pre(!text.includes('\ufffd'));
        assert.equal(pyDecodeIgnore(Buffer.from(text)), text);
      }),
      { numRuns: RUNS },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// fernet.ts

const fernetKeyText = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('base64').replace(/\+/g, '-').replace(/\//g, '_'));
const fernetKey: fc.Arbitrary<FernetKey> = fernetKeyText.map((text) => {
  const key = decodeFernetKey(text);
  if (typeof key === 'string') throw new Error(key);
  return key;
});
const seconds = fc.integer({ min: 0, max: 2 ** 40 });
const iv = fc.uint8Array({ minLength: 16, maxLength: 16 });
const token = fc
  .tuple(fernetKey, fc.uint8Array({ maxLength: 300 }), seconds, iv)
  .map(([key, plaintext, s, v]) => ({
    key,
    plaintext,
    seconds: s,
    token: encryptFernet(key, plaintext, s, v),
  }));

describe('properties: Fernet', () => {
  it('decodeFernetKey never throws; it gives a 16+16 byte key or one of two problems', () => {
    const keyish = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fernetKeyText,
      fernetKeyText.map((t) => t.replace(/-/g, '+').replace(/_/g, '/')),
      mutated(fernetKeyText.map((t) => Buffer.from(t))).map((b) => b.toString('latin1')),
      fernetKeyText.map((t) => ` \n${t}\t `),
    );
    fc.assert(
      fc.property(keyish, (text) => {
        const key = decodeFernetKey(text);
        if (typeof key === 'string') {
          assert.ok(
            key === 'Fernet key must be non-empty.' || key === 'Invalid Fernet key format.',
          );
        } else {
          assert.equal(key.signing.byteLength, 16);
          assert.equal(key.encryption.byteLength, 16);
        }
      }),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (raw) => {
        const text = Buffer.from(raw).toString('base64url');
        const key = decodeFernetKey(`${text}=`);
        assert.ok(typeof key !== 'string');
        assert.deepEqual(Buffer.concat([key.signing, key.encryption]), Buffer.from(raw));
      }),
      { numRuns: RUNS },
    );
  });

  it('encrypt then decrypt gives back any plaintext and its timestamp', () => {
    fc.assert(
      fc.property(token, ({ key, plaintext, seconds: s, token: t }) => {
        const message = decryptFernet(key, t);
        assert.ok(message, 'did not decrypt');
        assert.deepEqual(message.plaintext, Buffer.from(plaintext));
        assert.equal(message.timestamp, s);
        assert.equal(message.tag.byteLength, 32);
      }),
      { numRuns: RUNS },
    );
  });

  it('decryptFernet under a random key accepts nothing it did not make', () => {
    const tokenish = fc.oneof(
      bytes(),
      // The right shape: version byte, header, whole blocks, a tag, in padded URL-safe base64.
      fc
        .tuple(fc.uint8Array({ minLength: 24, maxLength: 24 }), fc.integer({ min: 1, max: 8 }))
        .chain(([head, blocks]) =>
          fc.uint8Array({ minLength: blocks * 16 + 32, maxLength: blocks * 16 + 32 }).map((rest) =>
            Buffer.from(
              Buffer.concat([Buffer.of(0x80), head, rest])
                .toString('base64')
                .replace(/\+/g, '-')
                .replace(/\//g, '_'),
              'latin1',
            ),
          ),
        ),
      token.map((t) => t.token), // made under another key
      mutated(token.map((t) => t.token)),
    );
    fc.assert(
      fc.property(fernetKey, tokenish, (key, t) => {
        assert.equal(decryptFernet(key, t), undefined);
      }),
      { numRuns: MANY },
    );
  });

  it('a token with its bytes changed never decrypts', () => {
    fc.assert(
      fc.property(token, fc.array(mutation, { minLength: 1, maxLength: 3 }), (t, mutations) => {
        const raw = Buffer.from(t.token.toString('latin1'), 'base64url');
        const changed = mutations.reduce(applyMutation, raw);
        fc.pre(!changed.equals(raw));
        const text = changed.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
        assert.equal(decryptFernet(t.key, Buffer.from(text, 'latin1')), undefined);
      }),
      { numRuns: RUNS },
    );
  });

  it('a token with its text changed decrypts, if at all, only as the very same token', (t) => {
    // The text is decoded as Python's urlsafe_b64decode does (checked against cryptography 48):
    // it ignores the unused low bits of the last symbol before "=" (and, being non-strict, may
    // skip characters outside the alphabet). A changed text may therefore still be the same
    // token; what must never happen is a different token: other bytes, another tag (replay
    // detection keys on the tag), another plaintext.
    let decrypted = 0;
    fc.assert(
      fc.property(token, fc.array(mutation, { minLength: 1, maxLength: 3 }), (tk, mutations) => {
        const changed = mutations.reduce(applyMutation, tk.token);
        fc.pre(!changed.equals(tk.token));
        const message = decryptFernet(tk.key, changed);
        if (message === undefined) return;
        decrypted++;
        const original = decryptFernet(tk.key, tk.token);
        assert.ok(original);
        assert.deepEqual(message.tag, original.tag, 'a changed text decrypted as another token');
        assert.deepEqual(message.plaintext, original.plaintext);
        assert.equal(message.timestamp, original.timestamp);
      }),
      { numRuns: RUNS },
    );
    t.diagnostic(`${decrypted} of ${RUNS} changed texts still decoded to the same token`);
  });
});

// ---------------------------------------------------------------------------------------------
// extended.ts

describe('properties: extended protocol', () => {
  it('isExtended is exactly "starts with BECKON"', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(20),
          mutated(fc.constant(MAGIC)),
          bytes(10).map((t) => Buffer.concat([MAGIC, t])),
        ),
        (datagram) => {
          assert.equal(
            isExtended(datagram),
            datagram.byteLength >= 6 && datagram.subarray(0, 6).toString('latin1') === 'BECKON',
          );
        },
      ),
      { numRuns: MANY },
    );
  });

  it('decodeAnswer never throws and accepts only valid answers', (t) => {
    let decoded = 0;
    fc.assert(
      fc.property(fc.oneof(answerish, extendedInputs), (datagram) => {
        if (checkAnswer(datagram)) decoded++;
        checkRequest(datagram);
      }),
      { numRuns: MANY },
    );
    t.diagnostic(`${decoded} of ${MANY} inputs decoded as answers`);
    assert.ok(decoded > MANY / 20, `only ${decoded} of ${MANY} inputs decoded as answers`);
  });

  it('decodeRequest never throws and accepts only valid requests', (t) => {
    let decoded = 0;
    fc.assert(
      fc.property(fc.oneof(requestish, mutated(requestish), extendedInputs), (datagram) => {
        if (checkRequest(datagram)) decoded++;
      }),
      { numRuns: MANY },
    );
    t.diagnostic(`${decoded} of ${MANY} inputs decoded as requests`);
    assert.ok(decoded > MANY / 20, `only ${decoded} of ${MANY} inputs decoded as requests`);
  });

  it('decoders reject datagrams shorter than the header or longer than 1200 bytes', () => {
    fc.assert(
      fc.property(answer, bytes(33), fc.integer({ min: 1, max: 3000 }), (a, short, extra) => {
        const valid = encodeAnswer(a);
        assert.equal(
          decodeAnswer(
            Buffer.concat([valid, Buffer.alloc(MAX_DATAGRAM_SIZE - valid.byteLength + extra)]),
          ),
          undefined,
        );
        assert.equal(decodeAnswer(valid.subarray(0, short.byteLength)), undefined);
        assert.equal(decodeRequest(short), undefined);
      }),
      { numRuns: RUNS },
    );
  });

  it('answers round-trip with any valid metadata, signed or not, and fit MAX_ANSWER_SIZE', () => {
    assert.equal(MAX_ANSWER_SIZE, 3 * MIN_REQUEST_SIZE);
    fc.assert(
      fc.property(answer, fc.option(key32, { nil: undefined }), (a, key) => {
        const datagram = encodeAnswer(a, key);
        assert.ok(datagram.byteLength <= MAX_ANSWER_SIZE, `answer of ${datagram.byteLength} bytes`);
        const decoded = decodeAnswer(datagram);
        assert.ok(decoded, 'did not decode');
        assertValidAnswer(decoded, datagram);
        assert.deepEqual(decoded.nonce, a.nonce);
        assert.equal(decoded.timestamp, a.timestamp);
        assert.equal(decoded.address, a.address);
        assert.equal(decoded.port, a.port);
        const { values, ...rest } = decoded.metadata;
        const { values: sent, ...sentRest } = a.metadata;
        assert.deepEqual(rest, sentRest);
        const sorted = (v: Readonly<Record<string, string>>) =>
          Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
        assert.deepEqual(sorted(values), sorted(sent));
        assert.equal(decoded.authenticated, key !== undefined);
        if (key) assert.equal(verifyTag(decoded, [key]), key);
        else assert.equal(verifyTag(decoded, [randomBytes(32)]), undefined);
      }),
      { numRuns: RUNS },
    );
  });

  it('the largest metadata a responder may hold still fits MAX_ANSWER_SIZE when signed', () => {
    const full = (n: number) => 'x'.repeat(n);
    const values: Record<string, string> = {};
    for (let i = 0; i < Limits.values; i++) values[`k${i}`.padEnd(4, '_')] = full(28);
    const datagram = encodeAnswer(
      {
        nonce: Buffer.alloc(NONCE_SIZE),
        timestamp: Date.now(),
        address: '255.255.255.255',
        port: 65535,
        metadata: {
          instanceId: full(Limits.text),
          name: full(Limits.text),
          service: full(Limits.text),
          scheme: `h${'t'.repeat(Limits.scheme - 1)}`,
          version: full(Limits.version),
          values,
        },
      },
      randomBytes(32),
    );
    assert.ok(datagram.byteLength <= MAX_ANSWER_SIZE, `${datagram.byteLength} bytes`);
    assert.ok(decodeAnswer(datagram));
  });

  it('requests round-trip, signed or not, and are never shorter than MIN_REQUEST_SIZE', () => {
    fc.assert(
      fc.property(request, fc.option(authKey, { nil: undefined }), (r, key) => {
        const datagram = encodeRequest(r, key);
        assert.ok(datagram.byteLength >= MIN_REQUEST_SIZE, `request of ${datagram.byteLength}`);
        const decoded = decodeRequest(datagram);
        assert.ok(decoded, 'did not decode');
        assertValidRequest(decoded, datagram);
        assert.deepEqual(decoded.nonce, r.nonce);
        assert.equal(decoded.timestamp, r.timestamp);
        assert.equal(decoded.service, r.service);
        assert.equal(decoded.authenticated, key !== undefined);
        if (key) assert.equal(verifyTag(decoded, [randomBytes(32), key]), key);
        // A request never passes for an answer, nor an answer for a request.
        assert.equal(decodeAnswer(datagram), undefined);
      }),
      { numRuns: RUNS },
    );
  });

  it('a signed datagram with any single byte changed fails verifyTag', () => {
    fc.assert(
      fc.property(
        signedDatagram,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        ({ datagram, key }, at, xor) => {
          const changed = Buffer.from(datagram);
          const index = at % changed.byteLength;
          changed[index] = (changed[index] ?? 0) ^ xor;
          const decoded = decodeAnswer(changed) ?? decodeRequest(changed);
          if (decoded) assert.equal(verifyTag(decoded, [key]), undefined, `byte ${index} ^ ${xor}`);
        },
      ),
      { numRuns: MANY },
    );
  });

  it('every single-bit flip of a signed request and answer fails verifyTag', () => {
    const key = randomBytes(32);
    const datagrams = [
      encodeRequest(
        { nonce: randomBytes(NONCE_SIZE), timestamp: Date.now(), service: 'shop' },
        key,
      ),
      encodeAnswer(
        {
          nonce: randomBytes(NONCE_SIZE),
          timestamp: Date.now(),
          address: '127.0.0.1',
          port: 80,
          metadata: { instanceId: 'a', values: { k: 'v' } },
        },
        key,
      ),
    ];
    let checked = 0;
    for (const datagram of datagrams) {
      const original = decodeAnswer(datagram) ?? decodeRequest(datagram);
      assert.ok(original && verifyTag(original, [key]) === key);
      for (let index = 0; index < datagram.byteLength; index++) {
        for (let bit = 0; bit < 8; bit++) {
          const changed = Buffer.from(datagram);
          changed[index] = (changed[index] ?? 0) ^ (1 << bit);
          const decoded = decodeAnswer(changed) ?? decodeRequest(changed);
          if (decoded)
            assert.equal(verifyTag(decoded, [key]), undefined, `byte ${index} bit ${bit}`);
          checked++;
        }
      }
    }
    assert.equal(
      checked,
      8 * (datagrams[0]?.byteLength ?? 0) + 8 * (datagrams[1]?.byteLength ?? 0),
    );
  });

  it('an answer signed with another key never verifies', () => {
    fc.assert(
      fc.property(answer, key32, key32, (a, key, other) => {
        fc.pre(!key.equals(other));
        const decoded = decodeAnswer(encodeAnswer(a, other));
        assert.ok(decoded);
        assert.equal(verifyTag(decoded, [key]), undefined);
      }),
      { numRuns: RUNS },
    );
  });

  // docs/protocol.md, Answer: "key length (1 byte, 1 to 32), key, value (0 to 128 bytes)"; and
  // decoders reject "a field running past the end" and "an out-of-range value".
  it('rejects a key/value field whose key length runs past the end of the field', () => {
    fc.assert(
      fc.property(
        answer,
        safeText(Limits.valueKey),
        fc.integer({ min: 1, max: 255 }),
        (a, key, excess) => {
          const keyBytes = Buffer.from(key);
          const declared = Math.min(255, keyBytes.byteLength + excess);
          const value = Buffer.concat([Buffer.of(declared), keyBytes]);
          const datagram = Buffer.concat([
            encodeAnswer({ ...a, metadata: { ...a.metadata, values: {} } }),
            field(Field.value, value),
          ]);
          const decoded = decodeAnswer(datagram);
          assert.equal(
            decoded,
            undefined,
            `key length ${declared} with ${keyBytes.byteLength} key bytes decoded as ${JSON.stringify(decoded?.metadata.values)}`,
          );
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('keeps a value key named __proto__ and refuses it twice (keys unique)', () => {
    // A responder accepts this metadata (Object.entries of its options), so it is sent.
    const values = JSON.parse('{"__proto__":"x","region":"eu"}') as Record<string, string>;
    const datagram = encodeAnswer({
      nonce: Buffer.alloc(NONCE_SIZE),
      timestamp: 1,
      address: '127.0.0.1',
      metadata: { instanceId: 'i', values },
    });
    const decoded = decodeAnswer(datagram);
    assert.ok(decoded);
    assert.deepEqual(Object.keys(decoded.metadata.values).sort(), ['__proto__', 'region']);
    const twice = Buffer.concat([
      datagram,
      field(Field.value, Buffer.concat([Buffer.of(9), Buffer.from('__proto__y')])),
    ]);
    assert.equal(decodeAnswer(twice), undefined, 'a repeated key was accepted');
  });
});

// ---------------------------------------------------------------------------------------------
// ipv4.ts

describe('properties: IPv4 parsing', () => {
  const ipish = fc.oneof(
    fc.ipV4(),
    fc.ipV4Extended(),
    fc.string({ unit: 'binary-ascii', maxLength: 20 }),
    mutated(fc.ipV4().map((ip) => Buffer.from(ip))).map((b) => b.toString('latin1')),
    fc
      .array(fc.integer({ min: -1, max: 1000 }), { minLength: 3, maxLength: 5 })
      .map((a) => a.join('.')),
  );

  it('parseIPv4 never throws and accepts only canonical dotted quads', () => {
    fc.assert(
      fc.property(ipish, (text) => {
        const ip = parseIPv4(text);
        if (ip === undefined) return;
        assert.ok(Number.isInteger(ip) && ip >= 0 && ip <= 0xffffffff);
        assert.equal(formatIPv4(ip), text);
      }),
      { numRuns: MANY },
    );
    fc.assert(
      fc.property(fc.ipV4(), (text) => assert.equal(formatIPv4(parseIPv4(text) ?? -1), text)),
      { numRuns: RUNS },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) =>
        assert.equal(parseIPv4(formatIPv4(n)), n),
      ),
      { numRuns: RUNS },
    );
  });

  it('parseCidr never throws and gives a network without host bits and a prefix 0..32', () => {
    const cidrish = fc.oneof(
      fc.tuple(ipish, fc.integer({ min: -2, max: 40 })).map(([ip, p]) => `${ip}/${p}`),
      ipish,
      fc
        .tuple(fc.ipV4(), fc.string({ unit: 'binary-ascii', maxLength: 4 }))
        .map(([ip, p]) => `${ip}/${p}`),
      fc.string({ unit: 'binary-ascii', maxLength: 24 }),
    );
    fc.assert(
      fc.property(cidrish, (text) => {
        const cidr = parseCidr(text);
        if (cidr === undefined) return;
        assert.ok(Number.isInteger(cidr.prefix) && cidr.prefix >= 0 && cidr.prefix <= 32);
        assert.ok(
          Number.isInteger(cidr.network) && cidr.network >= 0 && cidr.network <= 0xffffffff,
        );
        assert.equal((cidr.network & ~prefixMask(cidr.prefix)) >>> 0, 0, 'host bits set');
      }),
      { numRuns: MANY },
    );
    fc.assert(
      fc.property(fc.ipV4(), fc.integer({ min: 0, max: 32 }), fc.boolean(), (ip, prefix, pad) => {
        const text = pad ? ` ${ip}/${prefix}\n` : `${ip}/${prefix}`;
        const cidr = parseCidr(text);
        assert.ok(cidr);
        assert.equal(cidr.prefix, prefix);
        assert.ok(cidrContains(cidr, parseIPv4(ip) ?? -1));
        assert.deepEqual(parseCidr(ip), { network: parseIPv4(ip), prefix: 32 });
      }),
      { numRuns: RUNS },
    );
  });
});
