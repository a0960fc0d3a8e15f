import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  decodeAnnouncement,
  decodeAnswer,
  decodeRequest,
  type ExtendedAnswer,
  encodeAnnouncement,
  encodeAnswer,
  encodeRequest,
  KNOWN_ID_SIZE,
  knownId,
  Limits,
  MAX_ANSWER_SIZE,
  MAX_DATAGRAM_SIZE,
  MAX_KNOWN,
  MIN_REQUEST_SIZE,
  verifyTag,
} from '../../src/protocol/extended.js';
import { decodeFernetKey, decryptFernet, encryptFernet } from '../../src/protocol/fernet.js';
import { generateKey } from '../../src/security/keys.js';
import * as before from './fixtures/extended-0.1.0.js';

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
        address: 'fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', // address6: 12 bytes more than IPv4
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
    assert.equal(largest.byteLength, 618); // IPv4: 606
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

describe('extended protocol: IPv6 addresses (address6, 0x18)', () => {
  const ADDRESS6 = [0x18, 16, 0xfd, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x10];

  it('carries an IPv6 address in a 16-byte address6 field, zone dropped', () => {
    for (const [given, decoded] of [
      ['fd00:0:0:1::10', 'fd00:0:0:1::10'],
      ['FD00:0000:0:1:0:0:0:10', 'fd00:0:0:1::10'],
      ['fe80::1%eth0', 'fe80::1'],
      ['::1', '::1'],
      ['2001:db8::1', '2001:db8::1'],
    ]) {
      const datagram = encodeAnswer({ ...answer, address: given as string });
      assert.equal(datagram.byteLength, encodeAnswer(answer).byteLength + 12, given);
      assert.deepEqual([...datagram.subarray(34, 36)], [0x18, 16]);
      assert.equal(decodeAnswer(datagram)?.address, decoded);
    }
    assert.equal(decodeAnswer(withFields(ADDRESS6, INSTANCE))?.address, 'fd00:0:0:1::10');
  });

  it('sends an IPv4-mapped address as the IPv4 address it carries, byte for byte', () => {
    assert.deepEqual(encodeAnswer({ ...answer, address: '::ffff:10.0.0.5' }), encodeAnswer(answer));
  });

  it('keeps IPv4 answers byte for byte what beckon 0.1.0 sent', () => {
    const key = Buffer.from('k'.repeat(32));
    const full: ExtendedAnswer = {
      ...answer,
      metadata: {
        instanceId: 'i',
        name: 'n',
        service: 's',
        scheme: 'http',
        version: '1',
        values: { a: 'b' },
      },
    };
    assert.deepEqual(encodeAnswer(full, key), before.encodeAnswer(full, key));
    assert.deepEqual(encodeAnswer(answer), before.encodeAnswer(answer));
  });

  const malformed: [string, Buffer][] = [
    ['address and address6', withFields(ADDRESS, ADDRESS6, INSTANCE)],
    ['address6 and address', withFields(ADDRESS6, ADDRESS, INSTANCE)],
    ['a repeated address6', withFields(ADDRESS6, ADDRESS6, INSTANCE)],
    [
      'a 15-byte address6',
      withFields(
        ADDRESS6.slice(0, -1).map((b, i) => (i === 1 ? 15 : b)),
        INSTANCE,
      ),
    ],
    ['a 4-byte address6', withFields([0x18, 4, 10, 0, 0, 5], INSTANCE)],
    ['an unspecified address6', withFields([0x18, 16, ...new Array(16).fill(0)], INSTANCE)],
    [
      'a multicast address6',
      withFields([0x18, 16, 0xff, 0x12, ...new Array(14).fill(1)], INSTANCE),
    ],
    [
      'an IPv4-mapped address6',
      withFields([0x18, 16, ...new Array(10).fill(0), 0xff, 0xff, 10, 0, 0, 5], INSTANCE),
    ],
  ];
  for (const [name, datagram] of malformed) {
    it(`rejects an answer with ${name}`, () => assert.equal(decodeAnswer(datagram), undefined));
  }

  it('an old (0.1.0) decoder drops an IPv6 answer without throwing, and reads an IPv4 one', () => {
    const ipv6 = encodeAnswer({ ...answer, address: 'fd00::10' }, KEY);
    assert.equal(before.decodeAnswer(ipv6), undefined);
    // Unknown to it, address6 is skipped: an IPv4 answer that also held one would still decode.
    const both = withFields(ADDRESS, INSTANCE, ADDRESS6);
    assert.equal(before.decodeAnswer(both)?.address, '10.0.0.5');
    assert.equal(decodeAnswer(both), undefined);
  });
});

describe('extended protocol: presence (announcements, leases, known answers)', () => {
  const announcement = { ...answer, lease: 15_000 };

  it('round-trips an announcement and a goodbye, signed or not, and tells them from answers', () => {
    for (const key of [undefined, KEY]) {
      for (const lease of [15_000, 0]) {
        const datagram = encodeAnnouncement({ ...announcement, lease }, key);
        assert.ok(datagram.byteLength <= MAX_ANSWER_SIZE);
        const decoded = decodeAnnouncement(datagram);
        assert.equal(decoded?.lease, lease);
        assert.equal(decoded?.metadata.instanceId, 'one');
        assert.equal(decoded?.authenticated, key !== undefined);
        if (key) assert.ok(decoded && verifyTag(decoded, [KEY]));
        assert.equal(decodeAnswer(datagram), undefined, 'an announcement is not an answer');
      }
    }
    assert.equal(decodeAnnouncement(encodeAnswer(answer)), undefined, 'an answer is not one');
    // An answer may carry a lease (the server announces), never 0; an announcement needs one.
    assert.equal(decodeAnswer(encodeAnswer({ ...answer, lease: 9000 }))?.lease, 9000);
    assert.equal(decodeAnswer(encodeAnswer({ ...answer, lease: 0 })), undefined);
    assert.equal(decodeAnswer(encodeAnswer(answer))?.lease, undefined);
    const header = encodeAnnouncement(announcement).subarray(0, 34);
    const bare = Buffer.concat([header, Buffer.from([...ADDRESS, ...INSTANCE])]);
    assert.equal(decodeAnnouncement(bare), undefined, 'no lease');
    const long = [0x19, 4, 0xff, 0xff, 0xff, 0xff];
    assert.equal(decodeAnnouncement(Buffer.concat([bare, Buffer.from(long)])), undefined);
    const twice = [0x19, 4, 0, 0, 1, 0, 0x19, 4, 0, 0, 1, 0];
    assert.equal(decodeAnnouncement(Buffer.concat([bare, Buffer.from(twice)])), undefined);
  });

  it('carries known-answer ids and the presence port in a request, bounded', () => {
    const known = ['a', 'b', 'c'].map(knownId);
    assert.equal(known[0]?.byteLength, KNOWN_ID_SIZE);
    assert.deepEqual(knownId('a'), knownId('a'));
    assert.notDeepEqual(knownId('a'), knownId('b'));
    const decoded = decodeRequest(
      encodeRequest({ nonce, timestamp: 1, known, presencePort: 9998 }),
    );
    assert.deepEqual(decoded?.known, known);
    assert.equal(decoded?.presencePort, 9998);
    const plain = decodeRequest(encodeRequest({ nonce, timestamp: 1 }));
    assert.equal(plain?.known, undefined);
    assert.equal(plain?.presencePort, undefined);
    // Past the bound, the encoder lists the first MAX_KNOWN; the datagram stays in bounds.
    const many = Array.from({ length: 200 }, (_, i) => knownId(`server-${i}`));
    const full = encodeRequest({ nonce, timestamp: 1, known: many }, KEY);
    assert.ok(full.byteLength <= MAX_DATAGRAM_SIZE);
    assert.equal(decodeRequest(full)?.known?.length, MAX_KNOWN);
    // A request is still padded to the minimum; an old decoder skips the new fields.
    assert.ok(
      encodeRequest({ nonce, timestamp: 1, known: known.slice(0, 1) }).byteLength >=
        MIN_REQUEST_SIZE,
    );
    const header = encodeRequest({ nonce, timestamp: 1 }).subarray(0, 34);
    const withRequestFields = (...fields: number[][]) =>
      decodeRequest(Buffer.concat([header, ...fields.map((f) => Buffer.from(f))]));
    assert.equal(withRequestFields([0x02, 7, 1, 2, 3, 4, 5, 6, 7]), undefined, 'not 8-byte ids');
    assert.equal(withRequestFields([0x02, 0]), undefined);
    assert.equal(withRequestFields([0x03, 2, 0, 0]), undefined, 'port 0');
    assert.equal(withRequestFields([0x03, 2, 1, 1], [0x03, 2, 1, 1]), undefined, 'twice');
  });
});
