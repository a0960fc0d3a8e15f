/**
 * Hostile address text through every pure function that handles IPv6 source or server
 * addresses (parsers, the client's address list, the responder's sender policy, reply address
 * and rate-limit key): odd zones, IPv4-mapped, unspecified, multicast, NAT64, random text and
 * values that are not strings. None may throw, and each result must be sane.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  addressTier,
  type LocalNetworks,
  normalizeServerAddress,
  rankAddresses,
} from '../../src/client/addresses.js';
import { describeAddress } from '../../src/network/interfaces.js';
import { ipv6InterfacesFrom } from '../../src/network/interfaces6.js';
import { isUnspecifiedOrMulticast, parseIPv4 } from '../../src/network/ipv4.js';
import {
  classifyIPv6,
  formatIPv6,
  httpRequestTarget,
  isValidZone,
  MAX_ZONE_LENGTH,
  mappedIPv4,
  normalizeIPv6,
  parseIPv6,
  parseIPv6Cidr,
  serverUrl,
  urlHost,
} from '../../src/network/ipv6.js';
import { rateLimitKey } from '../../src/responder/rate-limit-key.js';
import { judgeSender } from '../../src/responder/sender-policy.js';
import {
  judgeSender6,
  replyAddressFor6,
  type SenderContext6,
} from '../../src/responder/sender-policy6.js';

const RUNS = 3000;

const v6 = (address: string, prefix: 64 | 128, scopeid: number) => ({
  address,
  netmask: prefix === 64 ? 'ffff:ffff:ffff:ffff::' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  family: 'IPv6' as const,
  mac: '02:00:00:00:00:01',
  internal: address === '::1',
  cidr: `${address}/${prefix}`,
  scopeid,
});
const interfaces6 = ipv6InterfacesFrom({
  lo: [v6('::1', 128, 0)],
  eth0: [v6('fe80::10', 64, 2), v6('fd00:0:0:1::10', 64, 0), v6('2001:db8:1:1::10', 64, 0)],
});
const interfaces4 = [
  describeAddress('lo', '127.0.0.1', 8, true, {}, true),
  describeAddress('eth0', '10.0.0.10', 24, true, {}, false),
];
const context: SenderContext6 = {
  interfaces: interfaces6,
  allow: [],
  ipv4: { interfaces: interfaces4, allow: [] },
};
const local: LocalNetworks = { ipv4: interfaces4, ipv6: interfaces6 };
const localAddresses6 = new Set(interfaces6.map((iface) => iface.address));

/** The named cases of the issue, and their neighbours. */
const NAMED = [
  'fe80::1%',
  'fe80::1%999999',
  'fe80::1%4294967296',
  'fe80::1%-1',
  'fe80::1%eth0%eth1',
  'fe80::1%%eth0',
  `fe80::1%${'e'.repeat(MAX_ZONE_LENGTH)}`,
  `fe80::1%${'e'.repeat(MAX_ZONE_LENGTH + 1)}`,
  `fe80::1%${'e'.repeat(10_000)}`,
  'fe80::1%éth0',
  'fe80::1%eth0\u202e',
  'fe80::1%eth\u00000',
  'fe80::1%eth 0',
  'fe80::1%eth0\n',
  'fe80::1%💥',
  'fe80::1%\u0430th0', // Cyrillic a
  'fe80::1%eth0/64',
  '[fe80::1%eth0]',
  'fe80::1%25eth0',
  '%eth0',
  '::ffff:10.0.0.1',
  '::ffff:127.0.0.1',
  '::ffff:0.0.0.0',
  '::ffff:255.255.255.255',
  '::ffff:224.0.0.251',
  '::ffff:10.0.0.1%eth0',
  '::ffff:10.0.0.256',
  '::ffff:010.0.0.1',
  '::FFFF:a00:1',
  '::',
  '::%eth0',
  '::0',
  '0:0:0:0:0:0:0:0',
  '::1',
  '::1%lo',
  '0:0:0:0:0:0:0:1',
  'ff02::1',
  'ff02::1%eth0',
  'ff12::6265:636b',
  'ff05::2',
  'ff0e::1',
  '64:ff9b::10.0.0.1',
  '64:ff9b::a00:1',
  '64:ff9b:1::10.0.0.1',
  '::10.0.0.1',
  '2001:db8:1:1::ffff',
  'fd00:0:0:1::99',
  'fd00::1%eth0',
  'fe80::20%eth0',
  'fe80::20%2',
  'fe80::20',
  '10.0.0.5',
  '0.0.0.0',
  '224.0.0.1',
  '255.255.255.255',
  '127.0.0.1',
  '1.2.3',
  '',
  ':',
  ':::',
  '1::2::3',
  '1:2:3:4:5:6:7:8:9',
  '1:2:3:4:5:6:7::',
  '::1.2.3.4:5',
  '1.2.3.4::',
  'g::1',
  '12345::1',
  ' ::1',
  '::1 ',
  'localhost',
  'a'.repeat(100_000),
  ':'.repeat(1000),
];

const hexGroup = fc.integer({ min: 0, max: 0xffff }).map((n) => n.toString(16));
const dotted = fc
  .tuple(...Array.from({ length: 4 }, () => fc.integer({ min: 0, max: 255 })))
  .map((octets) => octets.join('.'));
/** Zones: valid ones, numbers of any size, and every kind of junk. */
const zone = fc.oneof(
  fc.constantFrom('eth0', 'lo', '2', '0', '999999', 'en0', 'Ethernet 2', 'a:b', 'x%y', ''),
  fc.stringMatching(/^[A-Za-z0-9\-._~+:@]{1,80}$/),
  fc.bigInt({ min: -1n, max: 1n << 70n }).map(String),
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
/** Address text: built from parts (often valid), mutated, or random. */
const addressText = fc.oneof(
  fc.constantFrom(...NAMED),
  fc.array(hexGroup, { minLength: 1, maxLength: 9 }).map((groups) => groups.join(':')),
  fc
    .tuple(fc.array(hexGroup, { maxLength: 4 }), fc.array(hexGroup, { maxLength: 4 }))
    .map(([head, tail]) => `${head.join(':')}::${tail.join(':')}`),
  fc
    .tuple(fc.constantFrom('fe80::', '::ffff:', '64:ff9b::', 'ff02::', 'fd00::', '::'), dotted)
    .map(([head, ipv4]) => head + ipv4),
  fc
    .tuple(fc.constantFrom('fe80::1', '::ffff:10.0.0.1', '::1', '::', 'ff02::1', 'fd00::1'), zone)
    .map(([address, z]) => `${address}%${z}`),
  fc
    .tuple(fc.constantFrom(...NAMED), fc.integer({ min: 0, max: 50 }), fc.string({ maxLength: 3 }))
    .map(([text, at, insert]) => text.slice(0, at) + insert + text.slice(at)),
  fc.string({ unit: 'binary', maxLength: 120 }),
);
/** Values that are not strings at all, as a careless caller might pass. */
const notText = fc.oneof(
  fc.anything({ withNullPrototype: false }),
  fc.constantFrom(['::1'], ['10.0.0.1'], { toString: () => '::1' }, 1n, Number.NaN),
);

describe('hostile IPv6 address text', () => {
  it('the named cases give the documented results', () => {
    for (const text of ['fe80::1%', 'fe80::1%eth0%eth1', `fe80::1%${'e'.repeat(65)}`]) {
      assert.equal(parseIPv6(text), undefined, text);
    }
    for (const text of ['fe80::1%éth0', 'fe80::1%💥', 'fe80::1%eth0\n', 'fe80::1%eth0\u202e']) {
      assert.equal(parseIPv6(text), undefined, JSON.stringify(text));
      assert.deepEqual(judgeSender6(text, context), { allowed: false, reason: 'invalid-source' });
    }
    // A zone of digits is taken as an index; an unknown one names another interface.
    assert.deepEqual(judgeSender6('fe80::1%999999', context), {
      allowed: false,
      reason: 'other-interface',
    });
    assert.equal(replyAddressFor6('fe80::1%999999', interfaces6), undefined);
    assert.deepEqual(normalizeServerAddress('::ffff:10.0.0.1'), {
      address: '10.0.0.1',
      family: 'IPv4',
    });
    assert.deepEqual(normalizeServerAddress('::ffff:127.0.0.1'), {
      address: '127.0.0.1',
      family: 'IPv4',
    });
    for (const text of [
      '::',
      '::ffff:0.0.0.0',
      '0.0.0.0',
      '224.0.0.1',
      '::ffff:224.0.0.251',
      '255.255.255.255',
      'ff02::1%eth0',
    ]) {
      assert.equal(normalizeServerAddress(text), undefined, text);
    }
    // NAT64 (RFC 6052) is a global IPv6 address, not an IPv4 one.
    assert.deepEqual(normalizeServerAddress('64:ff9b::10.0.0.1'), {
      address: '64:ff9b::a00:1',
      family: 'IPv6',
    });
    assert.deepEqual(judgeSender6('64:ff9b::10.0.0.1', context), {
      allowed: false,
      reason: 'off-link',
    });
    assert.equal(rateLimitKey('64:ff9b::10.0.0.1'), '64:ff9b::/64');
    assert.equal(rateLimitKey('::ffff:10.0.0.1'), '10.0.0.1');
    assert.equal(rateLimitKey('::'), '::');
    assert.deepEqual(judgeSender6('::', context), { allowed: false, reason: 'invalid-source' });
    assert.deepEqual(judgeSender6('ff02::1', context), {
      allowed: false,
      reason: 'invalid-source',
    });
    // Mapped senders are judged as the IPv4 sender they carry; without IPv4 context, refused.
    assert.deepEqual(judgeSender6('::ffff:127.0.0.1', context), { allowed: true, via: 'loopback' });
    assert.deepEqual(judgeSender6('::ffff:127.0.0.1', { interfaces: interfaces6, allow: [] }), {
      allowed: false,
      reason: 'invalid-source',
    });
  });

  it('parsers never throw; what parses is canonical, with a valid zone, and stable', () => {
    fc.assert(
      fc.property(fc.oneof(addressText, notText), (text) => {
        const parsed = parseIPv6(text);
        parseIPv6Cidr(text);
        const normal = normalizeIPv6(text);
        if (!parsed) {
          assert.equal(normal, undefined);
          return;
        }
        assert.ok(parsed.value >= 0n && parsed.value < 1n << 128n);
        if (parsed.zone !== undefined) assert.ok(isValidZone(parsed.zone), parsed.zone);
        assert.equal(normal, formatIPv6(parsed));
        assert.equal(normalizeIPv6(normal), normal);
        const url = serverUrl('http', normal as string, 8080);
        assert.ok(url, `no URL for ${normal}`);
        assert.equal(urlHost(normal as string)?.startsWith('['), true);
        // The URL leads back to the same address and zone.
        const target = httpRequestTarget(url);
        assert.equal(target?.host, formatIPv6(parsed), url);
        assert.equal(target?.port, 8080);
        assert.ok(!target?.headers.host.includes('%'), 'a zone in the Host header');
      }),
      { numRuns: RUNS },
    );
  });

  it('normalizeServerAddress never throws; mapped becomes IPv4; results are fixed points', () => {
    fc.assert(
      fc.property(fc.oneof(addressText, notText), (text) => {
        const normal = normalizeServerAddress(text as string);
        if (!normal) return;
        assert.deepEqual(normalizeServerAddress(normal.address), normal);
        if (normal.family === 'IPv4') {
          const ip = parseIPv4(normal.address);
          assert.ok(ip !== undefined && !isUnspecifiedOrMulticast(ip), normal.address);
          const parsed = parseIPv6(text);
          if (parsed) assert.equal(normal.address, mappedIPv4(parsed.value));
          return;
        }
        const parsed = parseIPv6(normal.address);
        assert.ok(parsed);
        const kind = classifyIPv6(parsed.value);
        assert.ok(!['unspecified', 'multicast', 'ipv4-mapped'].includes(kind), normal.address);
        // A zone on link-local addresses, and only there.
        assert.equal(parsed.zone !== undefined, kind === 'link-local', normal.address);
      }),
      { numRuns: RUNS },
    );
  });

  it('rankAddresses never throws; it keeps normalized, distinct addresses, best tier first', () => {
    const entry = fc.record({
      address: fc.oneof(addressText, notText) as fc.Arbitrary<string>,
      family: fc.constantFrom('IPv4', 'IPv6', 'IPX') as fc.Arbitrary<'IPv4' | 'IPv6'>,
      interface: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      rtt: fc.option(fc.oneof(fc.double(), fc.constant(-1)), { nil: undefined }),
      via: fc.constantFrom('broadcast', 'multicast', 'target') as fc.Arbitrary<'target'>,
    });
    const tierOrder = { 'same-prefix': 0, routable: 1, 'link-local': 2 };
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 10 }), (entries) => {
        const ranked = rankAddresses(entries, local);
        assert.ok(ranked.length <= entries.length);
        assert.equal(new Set(ranked.map((a) => a.address)).size, ranked.length);
        const tiers = ranked.map((a) => tierOrder[addressTier(a, local)]);
        assert.deepEqual(
          tiers,
          [...tiers].sort((a, b) => a - b),
        );
        for (const a of ranked) {
          assert.deepEqual(normalizeServerAddress(a.address), {
            address: a.address,
            family: a.family,
          });
          assert.ok(a.rtt === undefined || Number.isFinite(a.rtt));
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('sender policy, reply address and rate-limit key never throw and agree', () => {
    fc.assert(
      fc.property(fc.oneof(addressText, notText), (text) => {
        const source = text as string;
        const verdict = judgeSender6(source, context);
        const reply = replyAddressFor6(source, interfaces6);
        const key = rateLimitKey(source);
        assert.equal(typeof verdict.allowed, 'boolean');
        assert.equal(typeof key, 'string');
        assert.ok(key.length <= 130, `a key of ${key.length} characters`);
        // Only this host's own addresses are ever advertised.
        if (reply !== undefined) assert.ok(localAddresses6.has(reply), reply);
        const parsed = parseIPv6(source);
        if (!parsed) {
          assert.deepEqual(verdict, { allowed: false, reason: 'invalid-source' });
          assert.equal(reply, undefined);
          return;
        }
        const kind = classifyIPv6(parsed.value);
        if (kind === 'ipv4-mapped') {
          const ipv4 = mappedIPv4(parsed.value) as string;
          assert.deepEqual(verdict, judgeSender(ipv4, interfaces4, []));
          assert.equal(key, ipv4);
        }
        if (kind === 'unspecified' || kind === 'multicast') {
          assert.deepEqual(verdict, { allowed: false, reason: 'invalid-source' });
          assert.equal(reply, undefined);
        }
        // Routable sources of one /64 share a bucket.
        if (kind === 'global' || kind === 'unique-local') {
          const value = parsed.value ^ 0xffffn;
          const neighbour = formatIPv6({ value, zone: undefined });
          // Its neighbour in the /64 may be of another kind (::fffe's is ::1, loopback).
          if (classifyIPv6(value) === kind) assert.equal(rateLimitKey(neighbour), key);
        }
      }),
      { numRuns: RUNS },
    );
  });
});
