/** Choosing IPv6 links by name, glob, IPv4 CIDR or IPv6 CIDR (src/network/select6.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionError } from '../../src/errors.js';
import { describeAddress } from '../../src/network/interfaces.js';
import { ipv6InterfacesFrom } from '../../src/network/interfaces6.js';
import { compileLinkPattern, ipv6Links, selectIPv6Links } from '../../src/network/select6.js';

const entry = (address: string, prefix: number, scopeid: number) => ({
  address,
  netmask: prefix === 64 ? 'ffff:ffff:ffff:ffff::' : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  family: 'IPv6' as const,
  mac: '',
  internal: false,
  cidr: null,
  scopeid,
});
const links = ipv6Links(
  ipv6InterfacesFrom({
    lo: [entry('::1', 128, 0)],
    eth0: [entry('fe80::1', 64, 2), entry('fd00:0:0:1::1', 64, 0)],
    veth7: [entry('fe80::7', 64, 7)],
    tun0: [entry('2001:db8:99::5', 128, 0)], // a tunnel with no link-local address
  }),
);
const ipv4 = [describeAddress('eth0', '10.1.0.5', 24, true, {}, false)];
const names = (list: readonly { name: string }[]) => list.map((l) => l.name);
const select = (include: string[], exclude: string[] = []) => {
  const { selected, skipped } = selectIPv6Links(
    links,
    include.map((p) => compileLinkPattern('interfaces', p)),
    exclude.map((p) => compileLinkPattern('excludeInterfaces', p)),
    ipv4,
  );
  return {
    selected: names(selected),
    skipped: skipped.map((s) => `${s.link.name}:${s.reason}`),
  };
};

describe('IPv6 link selection', () => {
  it('groups addresses per interface, with scope id and link-local presence', () => {
    assert.deepEqual(
      links.map((l) => [l.name, l.scopeId, l.loopback, l.hasLinkLocal, l.addresses.length]),
      [
        ['lo', 0, true, false, 1],
        ['eth0', 2, false, true, 2],
        ['veth7', 7, false, true, 1],
        ['tun0', 0, false, false, 1],
      ],
    );
  });

  it('by default: every link with a link-local address, never loopback', () => {
    assert.deepEqual(select([]), {
      selected: ['eth0', 'veth7'],
      skipped: ['lo:loopback', 'tun0:no-link-local'],
    });
  });

  it('by name, glob, IPv6 CIDR or IPv4 CIDR of the same interface', () => {
    assert.deepEqual(select(['veth*']).selected, ['veth7']);
    assert.deepEqual(select(['fd00::/8']).selected, ['eth0']);
    assert.deepEqual(select(['fe80::7/128']).selected, ['veth7']);
    assert.deepEqual(select(['10.1.0.0/24']).selected, ['eth0']);
    assert.deepEqual(select(['0.0.0.0/0']).selected, ['eth0']);
    assert.deepEqual(select(['lo']).selected, ['lo']);
    assert.deepEqual(select(['fd00::/8'], ['eth*']), {
      selected: [],
      skipped: ['lo:not-included', 'eth0:excluded', 'veth7:not-included', 'tun0:not-included'],
    });
    assert.deepEqual(select(['tun0']).skipped.includes('tun0:no-link-local'), true);
  });

  it('a malformed CIDR throws InvalidOptionError naming option, value and what is allowed', () => {
    for (const bad of ['fd00::/129', 'fe80::1%eth0/64', 'zz::/8']) {
      assert.throws(
        () => compileLinkPattern('--interface', bad),
        (error: unknown) =>
          error instanceof InvalidOptionError &&
          error.option === '--interface' &&
          error.value === bad &&
          /IPv6 CIDR/.test(error.message),
      );
    }
    assert.throws(() => compileLinkPattern('--interface', '10.0.0.0/33'), InvalidOptionError);
    assert.throws(() => compileLinkPattern('--interface', ' '), InvalidOptionError);
  });
});
