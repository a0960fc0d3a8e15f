import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  decodeAnswer,
  decodeRequest,
  type ExtendedAnswer,
  encodeAnswer,
  encodeRequest,
  Limits,
  MAX_ANSWER_SIZE,
  MIN_REQUEST_SIZE,
  verifyTag,
} from '../../src/protocol/extended.js';
import { decodeFernetKey, decryptFernet, encryptFernet } from '../../src/protocol/fernet.js';
import { generateKey } from '../../src/security/keys.js';

const nonce = Buffer.alloc(16, 7);
const KEY = Buffer.from('a shared key of some length');
const answer: ExtendedAnswer = {
  nonce,
  timestamp: 1_700_000_000_000,
  address: '10.0.0.5',
  port: 8080,
  metadata: { instanceId: 'one', values: {} },
};

/** An answer datagram with `fields` (raw type-length-value bytes) after a valid header. */
function withFields(...fields: number[][]): Buffer {
  const header = encodeAnswer(answer).subarray(0, 34);
  return Buffer.concat([header, ...fields.map((f) => Buffer.from(f))]);
}
const ADDRESS = [0x10, 4, 10, 0, 0, 5];
const INSTANCE = [0x13, 1, 0x61];

describe('extended protocol', () => {
  it('pads every request to the minimum size, signed or not, with or without a service', () => {
    for (const service of [undefined, 'x', 'a'.repeat(64)]) {
      for (const key of [undefined, KEY]) {
        const request = encodeRequest({ nonce, timestamp: 1, service }, key);
        assert.ok(
          request.byteLength >= MIN_REQUEST_SIZE && request.byteLength <= MIN_REQUEST_SIZE + 1,
        );
        assert.equal(decodeRequest(request)?.service, service);
      }
    }
  });

  it('keeps the largest answer the limits allow under 3 times the smallest request', () => {
    const long = (n: number) => 'x'.repeat(n);
    const values: Record<string, string> = {};
    // 8 pairs filling the 256-byte budget.
    for (let i = 0; i < Limits.values; i++) values[`k${i}`.padEnd(16, '_')] = long(16);
    const largest = encodeAnswer(
      {
        ...answer,
        address: '255.255.255.255',
        port: 65535,
        metadata: {
          instanceId: long(Limits.text),
          name: long(Limits.text),
          service: long(Limits.text),
          scheme: long(Limits.scheme),
          version: long(Limits.version),
          values,
        },
      },
      KEY,
    );
    assert.ok(largest.byteLength <= MAX_ANSWER_SIZE, `${largest.byteLength} bytes`);
    assert.equal(MAX_ANSWER_SIZE, 3 * MIN_REQUEST_SIZE);
    assert.ok(decodeAnswer(largest));
  });

  it('skips unknown fields and needs an address and an instance id', () => {
    assert.equal(decodeAnswer(withFields(ADDRESS, INSTANCE, [0x7e, 2, 1, 2]))?.address, '10.0.0.5');
    assert.equal(decodeAnswer(withFields(ADDRESS)), undefined);
    assert.equal(decodeAnswer(withFields(INSTANCE)), undefined);
  });

  const malformed: [string, Buffer][] = [
    ['a repeated address', withFields(ADDRESS, ADDRESS, INSTANCE)],
    ['a 3-byte address', withFields([0x10, 3, 1, 2, 3], INSTANCE)],
    ['port 0', withFields(ADDRESS, INSTANCE, [0x11, 2, 0, 0])],
    ['a field running past the end', withFields(ADDRESS, INSTANCE, [0x14, 9, 0x61])],
    ['a lone type byte', withFields(ADDRESS, INSTANCE, [0x14])],
    [
      'an escape sequence in the name',
      withFields(ADDRESS, INSTANCE, [0x14, 4, 0x1b, 0x5b, 0x32, 0x4a]),
    ],
    ['a bidi override in the name', withFields(ADDRESS, INSTANCE, [0x14, 3, 0xe2, 0x80, 0xae])],
    ['invalid UTF-8', withFields(ADDRESS, INSTANCE, [0x14, 2, 0xc3, 0x28])],
    ['an empty name', withFields(ADDRESS, INSTANCE, [0x14, 0])],
    ['an upper-case scheme', withFields(ADDRESS, INSTANCE, [0x12, 4, 0x48, 0x54, 0x54, 0x50])],
    [
      'a duplicate value key',
      withFields(ADDRESS, INSTANCE, [0x17, 3, 1, 0x6b, 0x76], [0x17, 3, 1, 0x6b, 0x77]),
    ],
    ['a value with an empty key', withFields(ADDRESS, INSTANCE, [0x17, 2, 0, 0x76])],
    ['more than 1200 bytes', Buffer.concat([withFields(ADDRESS, INSTANCE), Buffer.alloc(1200)])],
  ];
  for (const [name, datagram] of malformed) {
    it(`rejects an answer with ${name}`, () => assert.equal(decodeAnswer(datagram), undefined));
  }

  it('rejects a wrong kind, version, reserved byte or flag', () => {
    const request = encodeRequest({ nonce, timestamp: 1 });
    assert.equal(decodeAnswer(request), undefined);
    assert.equal(decodeRequest(encodeAnswer(answer)), undefined);
    for (const [offset, value] of [
      [6, 2],
      [8, 2],
      [9, 1],
    ] as const) {
      const bent = Buffer.from(request);
      bent[offset] = value;
      assert.equal(decodeRequest(bent), undefined, `byte ${offset} = ${value}`);
    }
  });

  it('verifies a tag only under the right key, and not after any change', () => {
    const signed = encodeAnswer(answer, KEY);
    const decoded = decodeAnswer(signed);
    assert.ok(decoded?.authenticated);
    assert.equal(verifyTag(decoded, [Buffer.from('some other key here')]), undefined);
    assert.equal(verifyTag(decoded, [Buffer.from('some other key here'), KEY]), KEY);
    for (const at of [0, 12, 40, signed.byteLength - 1]) {
      const bent = Buffer.from(signed);
      bent[at] = (bent[at] ?? 0) ^ 1;
      const again = decodeAnswer(bent);
      assert.ok(!again || verifyTag(again, [KEY]) === undefined, `byte ${at}`);
    }
    // An unsigned answer has no tag to verify.
    const unsigned = decodeAnswer(encodeAnswer(answer));
    assert.ok(unsigned && verifyTag(unsigned, [KEY]) === undefined);
  });
});

describe('Fernet', () => {
  const key = decodeFernetKey(generateKey());
  assert.ok(typeof key !== 'string');

  it('refuses keys with the original messages', () => {
    assert.equal(decodeFernetKey(''), 'Fernet key must be non-empty.');
    assert.equal(decodeFernetKey('   '), 'Fernet key must be non-empty.');
    assert.equal(decodeFernetKey('short'), 'Invalid Fernet key format.');
    assert.equal(decodeFernetKey(generateKey().slice(0, 43)), 'Invalid Fernet key format.');
    assert.equal(decodeFernetKey(`${generateKey().slice(0, 42)}!=`), 'Invalid Fernet key format.');
    assert.ok(typeof decodeFernetKey(` ${generateKey()}\n`) !== 'string', 'whitespace around');
  });

  it('decodes keys and tokens as leniently as Python does', () => {
    const text = generateKey();
    const same = (a: ReturnType<typeof decodeFernetKey>, b: ReturnType<typeof decodeFernetKey>) =>
      assert.deepEqual(a, b);
    same(decodeFernetKey(`${text.slice(0, 10)}\n${text.slice(10)}`), decodeFernetKey(text));
    same(decodeFernetKey(`${text}=`), decodeFernetKey(text));
    same(decodeFernetKey(text.replace(/-/g, '+').replace(/_/g, '/')), decodeFernetKey(text));
    const token = encryptFernet(key, Buffer.from('DISCOVER_SERVER'), 1000, randomBytes(16));
    for (const variant of [`${token}\n`, `${token}\r\n`, ` ${token}`, `${token}==`]) {
      const message = decryptFernet(key, Buffer.from(variant));
      assert.equal(String(message?.plaintext), 'DISCOVER_SERVER', JSON.stringify(variant));
    }
    assert.ok(!generateKey().startsWith('-'));
  });

  it('round-trips, and refuses another key, a changed byte and a wrong version', () => {
    const token = encryptFernet(key, Buffer.from('DISCOVER_SERVER'), 1000, randomBytes(16));
    assert.equal(String(decryptFernet(key, token)?.plaintext), 'DISCOVER_SERVER');
    const other = decodeFernetKey(generateKey());
    assert.ok(typeof other !== 'string');
    assert.equal(decryptFernet(other, token), undefined);
    const bytes = Buffer.from(String(token), 'base64url');
    for (const at of [0, 5, 30, bytes.byteLength - 1]) {
      const bent = Buffer.from(bytes);
      bent[at] = (bent[at] ?? 0) ^ 1;
      const text = bent.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
      assert.equal(decryptFernet(key, Buffer.from(text)), undefined, `byte ${at}`);
    }
    assert.equal(decryptFernet(key, Buffer.from('DISCOVER_SERVER')), undefined);
  });
});
