/**
 * Where a link's group requests leave from (`linkSources`, src/client/channels.ts): `::` for
 * the link-local answer, and one routable address per on-link prefix, so that a responder
 * answers with its own address in that prefix and results learn it (docs/ipv6.md, "The client").
 * The lab's test/lab/scenarios/ipv6-dual-stack.test.ts shows the answer arriving.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { linkSources } from '../../src/client/channels.js';
import { ipv6InterfacesFrom } from '../../src/network/interfaces6.js';
import { ipv6Links } from '../../src/network/select6.js';

const entry = (address: string, prefix: number, scopeid: number) => ({
  address,
  netmask: `${'ffff:'.repeat(prefix / 16).replace(/:$/, '')}${prefix < 128 ? '::' : ''}`,
  family: 'IPv6' as const,
  mac: '',
  internal: false,
  cidr: null,
  scopeid,
});
const links = ipv6Links(
  ipv6InterfacesFrom({
    lo: [entry('::1', 128, 0)],
    eth0: [
      entry('fe80::1', 64, 2),
      entry('fd00:0:0:1::1', 64, 0), // a ULA prefix: stable...
      entry('fd00:0:0:1:abcd::9', 64, 0), // ...and a temporary address in it: one request
      entry('2001:db8:5::1', 64, 0), // a global prefix
      entry('fd00:0:0:2::7', 128, 0), // a DHCPv6 /128
    ],
    veth7: [entry('fe80::7', 64, 7)],
  }),
);
const sources = (name: string) => {
  const link = links.find((l) => l.name === name);
  assert.ok(link, name);
  return linkSources(link);
};

it('a link with routable prefixes asks from :: and from the first address of each prefix', () => {
  assert.deepEqual(sources('eth0'), ['::', 'fd00:0:0:1::1', '2001:db8:5::1', 'fd00:0:0:2::7']);
});

it('a link-local-only link, and loopback, ask from :: only', () => {
  assert.deepEqual(sources('veth7'), ['::']);
  assert.deepEqual(sources('lo'), ['::']);
});
