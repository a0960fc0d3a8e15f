/** A server's address list: normalization and the documented preference (docs/ipv6.md). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  addressTier,
  type LocalNetworks,
  normalizeServerAddress,
  preferredAddress,
  rankAddresses,
  type ServerAddress,
} from '../../src/client/addresses.js';
import { describeAddress } from '../../src/network/interfaces.js';
import { ipv6InterfacesFrom } from '../../src/network/interfaces6.js';

const local: LocalNetworks = {
  ipv4: [
    describeAddress('lo', '127.0.0.1', 8, true, {}, true),
    describeAddress('eth0', '192.168.1.10', 24, true, {}, false),
  ],
  ipv6: ipv6InterfacesFrom({
    eth0: [
      {
        address: 'fe80::10',
        netmask: 'ffff:ffff:ffff:ffff::',
        family: 'IPv6',
        mac: '',
        internal: false,
        cidr: null,
        scopeid: 2,
      },
      {
        address: 'fd00:0:0:1::10',
        netmask: 'ffff:ffff:ffff:ffff::',
        family: 'IPv6',
        mac: '',
        internal: false,
        cidr: null,
        scopeid: 0,
      },
    ],
  }),
};
const at = (address: string, rtt?: number, iface = 'eth0'): ServerAddress => ({
  address,
  family: address.includes(':') ? 'IPv6' : 'IPv4',
  interface: iface,
  rtt,
  via: 'broadcast',
});
const order = (list: ServerAddress[]) => rankAddresses(list, local).map((a) => a.address);

describe('server addresses', () => {
  it('normalizes: mapped IPv4 becomes IPv4, zones only on link-local, junk dropped', () => {
    assert.deepEqual(normalizeServerAddress('::ffff:10.0.0.1'), {
      address: '10.0.0.1',
      family: 'IPv4',
    });
    assert.deepEqual(normalizeServerAddress('FE80::1%eth0'), {
      address: 'fe80::1%eth0',
      family: 'IPv6',
    });
    assert.deepEqual(normalizeServerAddress('fd00::1%eth0'), {
      address: 'fd00::1',
      family: 'IPv6',
    });
    for (const bad of ['fe80::1', '::', 'ff12::6265:636b%eth0', 'fe80::1%bad zone', 'x', '']) {
      assert.equal(normalizeServerAddress(bad), undefined, bad);
    }
  });

  it('tiers: same prefix (and loopback), then routable, then link-local', () => {
    const tier = (a: string) => addressTier({ ...at(a), ...normalizeServerAddress(a) }, local);
    assert.equal(tier('192.168.1.20'), 'same-prefix');
    assert.equal(tier('127.0.0.1'), 'same-prefix');
    assert.equal(tier('::1'), 'same-prefix');
    assert.equal(tier('fd00:0:0:1::20'), 'same-prefix');
    assert.equal(tier('fd00:0:0:2::20'), 'routable');
    assert.equal(tier('2001:db8::20'), 'routable');
    assert.equal(tier('10.9.9.9'), 'routable');
    assert.equal(tier('fe80::20%eth0'), 'link-local');
    assert.equal(tier('169.254.3.3'), 'link-local');
  });

  it('prefers the same prefix, then global or ULA before link-local, then the lowest RTT', () => {
    // The link-local path answered fastest, but a ULA on our /64 wins; fetch can use it.
    assert.deepEqual(
      order([at('fe80::20%eth0', 0.1), at('fd00:0:0:1::20', 0.5), at('2001:db8::20', 0.2)]),
      ['fd00:0:0:1::20', '2001:db8::20', 'fe80::20%eth0'],
    );
    // Same tier: lowest RTT; unmeasured last; then IPv4 before IPv6; then text.
    assert.deepEqual(order([at('192.168.1.20', 4.5), at('fd00:0:0:1::20', 0.3)]), [
      'fd00:0:0:1::20',
      '192.168.1.20',
    ]);
    // RTTs within 1 ms, or a fifth, are noise: the family decides, the same on every run.
    assert.deepEqual(order([at('192.168.1.20', 0.9), at('fd00:0:0:1::20', 0.3)]), [
      '192.168.1.20',
      'fd00:0:0:1::20',
    ]);
    assert.deepEqual(order([at('fd00:0:0:1::20', 10), at('192.168.1.20', 11.5)]), [
      '192.168.1.20',
      'fd00:0:0:1::20',
    ]);
    assert.deepEqual(order([at('fd00:0:0:1::20'), at('192.168.1.20', 2)]), [
      '192.168.1.20',
      'fd00:0:0:1::20',
    ]);
    assert.deepEqual(order([at('fd00:0:0:1::20', 1), at('192.168.1.20', 1)]), [
      '192.168.1.20',
      'fd00:0:0:1::20',
    ]);
    assert.deepEqual(order([at('fe80::2%eth1', 1), at('fe80::2%eth0', 1)]), [
      'fe80::2%eth0',
      'fe80::2%eth1',
    ]);
    // Only link-local: that is the answer (with its zone).
    assert.equal(preferredAddress([at('fe80::20%eth0', 0.4)], local)?.address, 'fe80::20%eth0');
    assert.equal(preferredAddress([], local), undefined);
  });

  it('merges duplicates keeping the lowest RTT, and never throws on junk (property)', () => {
    assert.deepEqual(
      rankAddresses(
        [
          at('FD00:0:0:1::20', 3),
          at('fd00:0:0:1::20', 1),
          at('::ffff:192.168.1.20', 4),
          at('192.168.1.20', 5),
        ],
        local,
      ).map((a) => [a.address, a.rtt, a.family]),
      [
        ['fd00:0:0:1::20', 1, 'IPv6'],
        ['192.168.1.20', 4, 'IPv4'],
      ],
    );
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.constantFrom(
        'fe80::1%eth0',
        'fd00:0:0:1::5',
        '192.168.1.5',
        '::ffff:10.0.0.1',
        '::',
        'ff02::1',
      ),
    );
    const rtt = fc.option(fc.oneof(fc.double(), fc.constant(Number.NaN), fc.constant(Infinity)));
    fc.assert(
      fc.property(fc.array(fc.tuple(text, rtt), { maxLength: 12 }), (entries) => {
        const ranked = rankAddresses(
          entries.map(([address, r]) => ({
            address,
            family: 'IPv6',
            via: 'multicast',
            interface: undefined,
            rtt: r ?? undefined,
          })),
          local,
        );
        assert.equal(new Set(ranked.map((a) => a.address)).size, ranked.length);
        for (const a of ranked) assert.ok(a.rtt === undefined || Number.isFinite(a.rtt));
        // The order is stable: ranking the result again changes nothing.
        assert.deepEqual(rankAddresses(ranked, local), ranked);
      }),
      { numRuns: 2000 },
    );
  });
});
