/**
 * IPv6 parsing, formatting, classification, CIDRs and RFC 6874 URLs (src/network/ipv6.ts), with
 * property tests against Node's own parsers as independent oracles: `net.isIPv6` (libuv's
 * inet_pton) for what is an address, and the WHATWG URL parser for the RFC 5952 text form.
 */
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { InvalidOptionError, isBeckonError } from '../../src/errors.js';
import { ipv6InterfacesFrom } from '../../src/network/interfaces6.js';
import {
  classifyIPv6,
  formatIPv6,
  httpRequestTarget,
  ipv6CidrContains,
  ipv6NetmaskPrefix,
  ipv6PrefixMask,
  isValidZone,
  MAX_ZONE_LENGTH,
  mappedIPv4,
  multicastScope,
  normalizeIPv6,
  parseIPv6,
  parseIPv6Cidr,
  parseIPv6CidrOption,
  serverUrl,
  urlHost,
} from '../../src/network/ipv6.js';
import {
  groupDestination6,
  IPV4_GROUP,
  IPV6_GROUP,
  membershipInterface6,
} from '../../src/network/multicast.js';

const RUNS = 3000;
const ALL = (1n << 128n) - 1n;
const value = (text: string): bigint => {
  const parsed = parseIPv6(text);
  assert.ok(parsed, text);
  return parsed.value;
};
const address128 = fc.bigInt({ min: 0n, max: ALL });
/** Addresses with long zero runs, IPv4-mapped ones and special ranges, not only noise. */
const interesting = fc.oneof(
  address128,
  fc
    .tuple(fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff, 0xfe80), { minLength: 8, maxLength: 8 }))
    .map(([groups]) => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n)),
  fc.integer({ min: 0, max: 0xffffffff }).map((ip) => (0xffffn << 32n) | BigInt(ip)),
);

describe('parseIPv6', () => {
  it('reads the usual forms, case-insensitively, with zones', () => {
    assert.equal(value('::'), 0n);
    assert.equal(value('::1'), 1n);
    assert.equal(value('FE80::1'), (0xfe80n << 112n) | 1n);
    assert.equal(value('2001:db8:0:0:0:0:0:1'), value('2001:db8::1'));
    assert.equal(value('::ffff:10.0.0.1'), (0xffffn << 32n) | 0x0a000001n);
    assert.equal(value('1:2:3:4:5:6:7::'), value('1:2:3:4:5:6:7:0'));
    assert.deepEqual(parseIPv6('fe80::1%eth0'), { value: (0xfe80n << 112n) | 1n, zone: 'eth0' });
    assert.equal(parseIPv6('fe80::1%3')?.zone, '3');
    assert.equal(parseIPv6('fe80::1%eth0.100')?.zone, 'eth0.100');
    assert.equal(parseIPv6('fe80::1')?.zone, undefined);
  });

  it('refuses malformed addresses and hostile zones without throwing', () => {
    const bad = [
      '',
      ':',
      ':::',
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8::',
      '12345::',
      'g::1',
      '::1.2.3',
      '::01.2.3.4',
      '::256.0.0.1',
      '1.2.3.4::',
      '1.2.3.4',
      ' ::1',
      '::1 ',
      'fe80::1%',
      'fe80::1%%eth0',
      'fe80::1%eth 0',
      'fe80::1%eth0/64',
      'fe80::1%eth0%1',
      'fe80::1%[x]',
      'fe80::1%\u0000',
      'fe80::1%e\u202eth0',
      `fe80::1%${'a'.repeat(MAX_ZONE_LENGTH + 1)}`,
      `${'0:'.repeat(1000)}1`,
      '[::1]',
    ];
    for (const text of bad) assert.equal(parseIPv6(text), undefined, JSON.stringify(text));
    for (const text of [undefined, null, 1, {}, ['::1']]) assert.equal(parseIPv6(text), undefined);
  });

  it('never throws, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.string({ maxLength: 200 }),
        ),
        (text) => {
          parseIPv6(text);
          parseIPv6Cidr(text);
          httpRequestTarget(text);
          urlHost(text);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('keeps a zone only when it is a valid one (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (zone) => {
        const parsed = parseIPv6(`fe80::1%${zone}`);
        if (parsed) {
          assert.equal(parsed.zone, zone);
          assert.ok(isValidZone(zone));
          assert.match(zone, /^[A-Za-z0-9\-._~+:@]{1,64}$/);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('accepts exactly what net.isIPv6 accepts (zone-free text of IPv6 characters)', () => {
    const ipv6ish = fc
      .array(fc.constantFrom(...'0123456789abcdefABCDEF:.'), { maxLength: 45 })
      .map((chars) => chars.join(''));
    const nearValid = interesting.chain((v) =>
      fc.tuple(fc.nat(40), fc.constantFrom('', ':', '::', '0', '.1', 'g')).map(([at, insert]) => {
        const text = formatIPv6({ value: v, zone: undefined });
        const cut = at % (text.length + 1);
        return text.slice(0, cut) + insert + text.slice(cut);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(ipv6ish, nearValid), (text) => {
        assert.equal(parseIPv6(text) !== undefined, isIPv6(text), text);
      }),
      { numRuns: RUNS * 3 },
    );
  });
});

describe('formatIPv6', () => {
  it('writes RFC 5952 text', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['FE80:0:0:0:0:0:0:1%eth0', 'fe80::1%eth0'],
      ['::ffff:0a00:0001', '::ffff:10.0.0.1'],
      ['ff12:0:0:0:0:0:6265:636b', 'ff12::6265:636b'],
    ];
    for (const [input, expected] of cases) assert.equal(normalizeIPv6(input), expected);
    assert.equal(normalizeIPv6('nope'), undefined);
  });

  it('round-trips every address, and agrees with the WHATWG URL parser', () => {
    fc.assert(
      fc.property(interesting, (v) => {
        const text = formatIPv6({ value: v, zone: undefined });
        assert.equal(parseIPv6(text)?.value, v);
        assert.ok(isIPv6(text), text);
        if (classifyIPv6(v) !== 'ipv4-mapped') {
          // WHATWG prints mapped addresses in hex; every other address exactly as RFC 5952.
          assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('classifyIPv6', () => {
  it('names each range', () => {
    const cases: [string, string][] = [
      ['::', 'unspecified'],
      ['::1', 'loopback'],
      ['::ffff:192.168.1.1', 'ipv4-mapped'],
      ['ff02::1', 'multicast'],
      ['ff12::6265:636b', 'multicast'],
      ['fe80::1', 'link-local'],
      ['febf:ffff::1', 'link-local'],
      ['fec0::1', 'global'],
      ['fc00::1', 'unique-local'],
      ['fd12:3456::1', 'unique-local'],
      ['fe00::1', 'global'],
      ['2001:db8::1', 'global'],
      ['::2', 'global'],
      ['::1.2.3.4', 'global'],
    ];
    for (const [text, kind] of cases) assert.equal(classifyIPv6(value(text)), kind, text);
    assert.equal(mappedIPv4(value('::ffff:10.0.0.1')), '10.0.0.1');
    assert.equal(mappedIPv4(value('::10.0.0.1')), undefined);
    assert.equal(multicastScope(value('ff12::6265:636b')), 2);
    assert.equal(multicastScope(value('ff05::2')), 5);
    assert.equal(multicastScope(value('fe80::1')), undefined);
  });
});

describe('IPv6 CIDRs', () => {
  it('parses prefixes, clears host bits, and tests membership', () => {
    const cidr = parseIPv6Cidr('2001:db8:1:2::5/64');
    assert.deepEqual(cidr, { network: value('2001:db8:1:2::'), prefix: 64 });
    assert.ok(cidr && ipv6CidrContains(cidr, value('2001:db8:1:2:ffff::1')));
    assert.ok(cidr && !ipv6CidrContains(cidr, value('2001:db8:1:3::1')));
    assert.deepEqual(parseIPv6Cidr('::1'), { network: 1n, prefix: 128 });
    assert.deepEqual(parseIPv6Cidr('::/0'), { network: 0n, prefix: 0 });
    for (const bad of ['fe80::1%eth0/64', '::/129', '::/-1', '::/ 8', '10.0.0.0/8', '::/8/8', '']) {
      assert.equal(parseIPv6Cidr(bad), undefined, bad);
    }
    assert.equal(ipv6NetmaskPrefix('ffff:ffff:ffff:ffff::'), 64);
    assert.equal(ipv6NetmaskPrefix('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 128);
    assert.equal(ipv6NetmaskPrefix('ffff:0:ffff::'), undefined);
  });

  it('holds every address of its network and none outside (property)', () => {
    fc.assert(
      fc.property(address128, address128, fc.integer({ min: 0, max: 128 }), (a, b, prefix) => {
        const cidr = parseIPv6Cidr(`${formatIPv6({ value: a, zone: undefined })}/${prefix}`);
        assert.ok(cidr);
        assert.ok(ipv6CidrContains(cidr, a));
        const mask = ipv6PrefixMask(prefix);
        assert.equal(ipv6CidrContains(cidr, b), (a & mask) === (b & mask));
      }),
      { numRuns: RUNS },
    );
  });

  it('an option with a bad entry throws InvalidOptionError naming option, value and what is allowed', () => {
    assert.deepEqual(parseIPv6CidrOption('allow', ['fd00::/8']), [
      { network: 0xfdn << 120n, prefix: 8 },
    ]);
    for (const entry of ['fe80::1%eth0/64', '10.0.0.0/8', '::/200', 42]) {
      assert.throws(
        () => parseIPv6CidrOption('allow', ['fd00::/8', entry]),
        (error: unknown) => {
          assert.ok(error instanceof InvalidOptionError);
          assert.ok(isBeckonError(error, 'BECKON_ERR_INVALID_OPTION'));
          assert.equal(error.option, 'allow');
          assert.equal(error.value, entry);
          assert.match(
            error.message,
            /^Invalid allow: .+ \(expected an IPv6 CIDR such as fd00::\/8/,
          );
          assert.match(error.message, /no zone/);
          return true;
        },
      );
    }
  });
});

describe('RFC 6874 URLs', () => {
  it('brackets IPv6 hosts and writes the zone as %25', () => {
    assert.equal(urlHost('10.0.0.5'), '10.0.0.5');
    assert.equal(urlHost('2001:DB8::1'), '[2001:db8::1]');
    assert.equal(urlHost('fe80::1%eth0'), '[fe80::1%25eth0]');
    assert.equal(urlHost('fe80::1%eth0.100'), '[fe80::1%25eth0.100]');
    // Zone characters outside RFC 3986 "unreserved" are percent-encoded.
    assert.equal(urlHost('fe80::1%a:b@c+d'), '[fe80::1%25a%3Ab%40c%2Bd]');
    assert.equal(urlHost('not an address'), undefined);
    assert.equal(serverUrl('http', 'fe80::1%eth0', 8080), 'http://[fe80::1%25eth0]:8080');
    assert.equal(serverUrl('https', 'fd00::5', 443), 'https://[fd00::5]:443');
    assert.equal(serverUrl('http', '10.0.0.5', 8000), 'http://10.0.0.5:8000');
  });

  it('turns a zoned URL into http.request() options, and refuses what is not one', () => {
    assert.deepEqual(httpRequestTarget('http://[fe80::1%25eth0]:8080/status?x=1'), {
      protocol: 'http:',
      host: 'fe80::1%eth0',
      port: 8080,
      path: '/status?x=1',
      headers: { host: '[fe80::1]:8080' },
    });
    assert.deepEqual(httpRequestTarget('https://[FE80::1%25en0]'), {
      protocol: 'https:',
      host: 'fe80::1%en0',
      port: 443,
      path: '/',
      headers: { host: '[fe80::1]' },
    });
    assert.deepEqual(httpRequestTarget('http://[fd00::5]:8080'), {
      protocol: 'http:',
      host: 'fd00::5',
      port: 8080,
      path: '/',
      headers: { host: '[fd00::5]:8080' },
    });
    assert.deepEqual(httpRequestTarget('http://10.0.0.5:8080/x'), {
      protocol: 'http:',
      host: '10.0.0.5',
      port: 8080,
      path: '/x',
      headers: { host: '10.0.0.5:8080' },
    });
    for (const bad of [
      'http://[fe80::1%eth0]:8080/', // raw '%': not RFC 6874
      'http://[fe80::1%25]:8080/',
      'http://[fe80::1%25eth%200]:8080/',
      'http://[fe80::1%25%E0%A4%A]:8080/',
      'http://[fe80::1%25eth0]:0/',
      'http://[fe80::1%25eth0]:70000/',
      'ftp://[fe80::1%25eth0]/',
      'ftp://example.com/',
      'not a url',
    ]) {
      assert.equal(httpRequestTarget(bad), undefined, bad);
    }
  });

  it('url round trip: every zoned address comes back from its URL (property)', () => {
    const zone = fc
      .array(fc.constantFrom(...'abcxyz0129-._~+:@'), { minLength: 1, maxLength: 15 })
      .map((chars) => chars.join(''));
    fc.assert(
      fc.property(
        interesting,
        fc.option(zone),
        fc.integer({ min: 1, max: 65535 }),
        (v, z, port) => {
          const address = formatIPv6({ value: v, zone: z ?? undefined });
          const url = serverUrl('http', address, port);
          assert.ok(url);
          const target = httpRequestTarget(url);
          assert.equal(target?.host, address);
          assert.equal(target?.port, port);
          assert.ok(isValidZone(z ?? 'x'));
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('ipv6InterfacesFrom', () => {
  it('keeps the IPv6 entries of os.networkInterfaces() with prefix, kind and scope id', () => {
    const list = ipv6InterfacesFrom({
      lo: [
        {
          address: '127.0.0.1',
          netmask: '255.0.0.0',
          family: 'IPv4',
          mac: '00:00:00:00:00:00',
          internal: true,
          cidr: '127.0.0.1/8',
        },
        {
          address: '::1',
          netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
          family: 'IPv6',
          mac: '00:00:00:00:00:00',
          internal: true,
          cidr: '::1/128',
          scopeid: 0,
        },
      ],
      eth0: [
        {
          address: 'fe80::a%eth0',
          netmask: 'ffff:ffff:ffff:ffff::',
          family: 'IPv6',
          mac: '02:00:00:00:00:0a',
          internal: false,
          cidr: 'fe80::a/64',
          scopeid: 2,
        },
        {
          address: 'FD00:0:0:1::A',
          netmask: 'ffff:ffff:ffff:ffff::',
          family: 'IPv6',
          mac: '02:00:00:00:00:0a',
          internal: false,
          cidr: 'fd00:0:0:1::a/64',
          scopeid: 0,
        },
        {
          address: 'garbage',
          netmask: 'ffff::',
          family: 'IPv6',
          mac: '',
          internal: false,
          cidr: null,
          scopeid: 0,
        },
        {
          address: 'fd00::b',
          netmask: 'ffff:0:ffff::',
          family: 'IPv6',
          mac: '',
          internal: false,
          cidr: null,
          scopeid: 0,
        },
      ],
    });
    assert.deepEqual(
      list.map((a) => [a.name, a.address, a.prefix, a.kind, a.scopeId]),
      [
        ['lo', '::1', 128, 'loopback', 0],
        ['eth0', 'fe80::a', 64, 'link-local', 2],
        ['eth0', 'fd00:0:0:1::a', 64, 'unique-local', 0],
      ],
    );
    assert.equal(list[2]?.network.network, value('fd00:0:0:1::'));
  });
});

describe('multicast groups', () => {
  it('are a transient link-local IPv6 group and a local-scope IPv4 group', () => {
    assert.equal(classifyIPv6(value(IPV6_GROUP)), 'multicast');
    assert.equal(multicastScope(value(IPV6_GROUP)), 2);
    assert.equal(Number((value(IPV6_GROUP) >> 116n) & 0xfn) & 1, 1, 'T flag: transient');
    assert.equal(normalizeIPv6(IPV6_GROUP), IPV6_GROUP);
    assert.match(IPV4_GROUP, /^239\.255\.\d+\.\d+$/);
    assert.notEqual(IPV4_GROUP, '239.255.255.250');
    assert.equal(groupDestination6('eth0'), 'ff12::6265:636b%eth0');
    assert.equal(membershipInterface6('eth0'), '::%eth0');
    assert.equal(groupDestination6('bad zone'), undefined);
    assert.equal(membershipInterface6(''), undefined);
  });
});
