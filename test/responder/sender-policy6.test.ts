/** The IPv6 sender policy (src/responder/sender-policy6.ts), pure, over a made-up host. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { describeAddress } from '../../src/network/interfaces.js';
import { ipv6InterfacesFrom } from '../../src/network/interfaces6.js';
import { parseCidr } from '../../src/network/ipv4.js';
import { parseIPv6CidrOption } from '../../src/network/ipv6.js';
import {
  judgeSender6,
  replyAddressFor6,
  type SenderContext6,
} from '../../src/responder/sender-policy6.js';

const v6 = (address: string, prefix: number, scopeid: number) => ({
  address,
  netmask:
    prefix === 64
      ? 'ffff:ffff:ffff:ffff::'
      : prefix === 40
        ? 'ffff:ffff:ff00::'
        : 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff',
  family: 'IPv6' as const,
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: `${address}/${prefix}`,
  scopeid,
});

// A host answering on eth0 (link-local, a ULA /64, a global /64) and wan0 (a too-wide /40).
const interfaces = ipv6InterfacesFrom({
  eth0: [v6('fe80::10', 64, 2), v6('fd00:0:0:1::10', 64, 0), v6('2001:db8:1:1::10', 64, 0)],
  wan0: [v6('2001:db8:9900::5', 40, 0)],
});
const context: SenderContext6 = {
  interfaces,
  allow: [],
  ipv4: { interfaces: [describeAddress('eth0', '192.168.1.10', 24, true, {}, false)], allow: [] },
};
const judge = (source: string, extra: Partial<SenderContext6> = {}) =>
  judgeSender6(source, { ...context, ...extra });

describe('IPv6 sender policy', () => {
  it('answers link-local senders on an interface it answers on, by name or index', () => {
    assert.deepEqual(judge('fe80::20%eth0'), { allowed: true, via: 'link-local' });
    assert.deepEqual(judge('fe80::20%2'), { allowed: true, via: 'link-local' });
    assert.deepEqual(judge('fe80::20%eth9'), { allowed: false, reason: 'other-interface' });
    // Index 0 means "unknown" for the ULA entries; it names no interface.
    assert.deepEqual(judge('fe80::20%0'), { allowed: false, reason: 'other-interface' });
    assert.deepEqual(judge('fe80::20%wlan0'), { allowed: false, reason: 'other-interface' });
    // Without a zone the arrival interface is unknown: never answered.
    assert.deepEqual(judge('fe80::20'), { allowed: false, reason: 'invalid-source' });
  });

  it('answers senders inside an on-link prefix of /48 or longer, and no others', () => {
    assert.deepEqual(judge('fd00:0:0:1::99'), { allowed: true, via: 'on-link' });
    assert.deepEqual(judge('2001:db8:1:1:abcd::1'), { allowed: true, via: 'on-link' });
    assert.deepEqual(judge('fd00:0:0:2::99', { offLink: 'none' }), {
      allowed: false,
      reason: 'off-link',
    });
    assert.deepEqual(judge('2001:db8:1:2::1'), { allowed: false, reason: 'off-link' });
    // wan0's /40 is too wide to count as one link.
    assert.deepEqual(judge('2001:db8:99aa::1'), { allowed: false, reason: 'off-link' });
    // A zone on a routable source changes nothing.
    assert.deepEqual(judge('fd00:0:0:1::99%eth0'), { allowed: true, via: 'on-link' });
  });

  it('answers off-link unique-local senders as private-off-link unless offLink is none', () => {
    assert.deepEqual(judge('fd00:0:0:2::99'), { allowed: true, via: 'private-off-link' });
    assert.deepEqual(judge('fc12::1'), { allowed: true, via: 'private-off-link' });
    assert.deepEqual(judge('fd00:0:0:2::99', { offLink: 'private' }), {
      allowed: true,
      via: 'private-off-link',
    });
    assert.deepEqual(judge('fc12::1', { offLink: 'none' }), { allowed: false, reason: 'off-link' });
    // Global off-link senders stay refused whatever the policy.
    assert.deepEqual(judge('2001:db8:5::1', { offLink: 'private' }), {
      allowed: false,
      reason: 'off-link',
    });
    // An allow CIDR still wins, under the normal rate limit.
    const allow = parseIPv6CidrOption('allow', ['fd00:0:0:2::/64']);
    assert.deepEqual(judge('fd00:0:0:2::99', { allow }), { allowed: true, via: 'allow-list' });
    // A mapped RFC 1918 sender behind a router follows the IPv4 rule and the same policy.
    assert.deepEqual(judge('::ffff:10.0.0.1'), { allowed: true, via: 'private-off-link' });
    assert.deepEqual(judge('::ffff:10.0.0.1', { offLink: 'none' }), {
      allowed: false,
      reason: 'off-link',
    });
  });

  it('answers other senders only when an allow CIDR holds them', () => {
    const allow = parseIPv6CidrOption('allow', ['2001:db8:77::/48', 'fe80::/10']);
    assert.deepEqual(judge('2001:db8:77:1::1', { allow }), { allowed: true, via: 'allow-list' });
    assert.deepEqual(judge('2001:db8:78::1', { allow }), { allowed: false, reason: 'off-link' });
    assert.deepEqual(judge('fe80::20%eth9', { allow }), { allowed: true, via: 'allow-list' });
  });

  it('answers ::1, refuses :: and multicast sources', () => {
    assert.deepEqual(judge('::1'), { allowed: true, via: 'loopback' });
    assert.deepEqual(judge('::'), { allowed: false, reason: 'invalid-source' });
    assert.deepEqual(judge('ff02::1%eth0'), { allowed: false, reason: 'invalid-source' });
    assert.deepEqual(judge('ff12::6265:636b'), { allowed: false, reason: 'invalid-source' });
  });

  it('judges an IPv4-mapped sender by the IPv4 policy, and refuses it without one', () => {
    assert.deepEqual(judge('::ffff:192.168.1.77'), { allowed: true, via: 'on-link' });
    assert.deepEqual(judge('::ffff:127.0.0.1'), { allowed: true, via: 'loopback' });
    assert.deepEqual(judge('::ffff:8.8.8.8'), { allowed: false, reason: 'off-link' });
    assert.deepEqual(judge('::ffff:224.0.0.1'), { allowed: false, reason: 'invalid-source' });
    const tenSlash8 = parseCidr('10.0.0.0/8');
    assert.ok(tenSlash8);
    const withAllow = { ipv4: { interfaces: [], allow: [tenSlash8] } };
    assert.deepEqual(judge('::ffff:10.0.0.1', withAllow), { allowed: true, via: 'allow-list' });
    assert.deepEqual(judge('::ffff:192.168.1.77', { ipv4: undefined }), {
      allowed: false,
      reason: 'invalid-source',
    });
  });

  it('refuses garbage sources without throwing (property)', () => {
    for (const bad of ['', 'fe80::1%', 'fe80::1%eth 0', '1.2.3.4', 'x'.repeat(10_000)]) {
      assert.deepEqual(judge(bad), { allowed: false, reason: 'invalid-source' });
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (text) => {
        const verdict = judge(text);
        assert.equal(typeof verdict.allowed, 'boolean');
      }),
      { numRuns: 3000 },
    );
  });
});

describe('replyAddressFor6', () => {
  it("advertises this host's address toward the requester", () => {
    assert.equal(replyAddressFor6('::1', interfaces), '::1');
    assert.equal(replyAddressFor6('fe80::99%eth0', interfaces), 'fe80::10');
    assert.equal(replyAddressFor6('fe80::99%2', interfaces), 'fe80::10'); // Windows: the index
    assert.equal(replyAddressFor6('fd00:0:0:1::99', interfaces), 'fd00:0:0:1::10');
    assert.equal(replyAddressFor6('2001:db8:1:1::99', interfaces), '2001:db8:1:1::10');
  });

  it('prefers the address the service listens on when several qualify', () => {
    const two = ipv6InterfacesFrom({
      eth0: [
        v6('fe80::10', 64, 2),
        v6('fe80::11', 64, 2),
        v6('2001:db8:1:1::10', 64, 0),
        v6('2001:db8:1:1:a:b:c:d', 64, 0), // a temporary (privacy) address of the same /64
      ],
    });
    const global = '2001:db8:1:1::99';
    assert.equal(replyAddressFor6(global, two), '2001:db8:1:1::10');
    assert.equal(replyAddressFor6(global, two, '2001:db8:1:1:a:b:c:d'), '2001:db8:1:1:a:b:c:d');
    assert.equal(replyAddressFor6('fe80::99%eth0', two, 'fe80::11'), 'fe80::11');
    // Not an address toward this requester: the usual choice (the caller finds it unreachable).
    assert.equal(replyAddressFor6(global, two, 'fd00::1'), '2001:db8:1:1::10');
    assert.equal(replyAddressFor6('::1', two, '2001:db8:1:1::10'), '::1');
    // A link-local requester (every group request is one) is sent the service's address when
    // the service listens on one address of the link the request came in on, and not otherwise.
    assert.equal(replyAddressFor6('fe80::99%eth0', two, '2001:db8:1:1::10'), '2001:db8:1:1::10');
    assert.equal(replyAddressFor6('fe80::99%eth1', two, '2001:db8:1:1::10'), undefined);
    assert.equal(replyAddressFor6('fe80::99%eth0', two, 'fd00::1'), 'fe80::10');
  });

  it('is undefined where the route must be asked, or for no address at all', () => {
    assert.equal(replyAddressFor6('fe80::99%wan0', interfaces), undefined); // no link-local there
    assert.equal(replyAddressFor6('fe80::99', interfaces), undefined);
    assert.equal(replyAddressFor6('2001:db8:77::1', interfaces), undefined);
    assert.equal(replyAddressFor6('ff12::6265:636b', interfaces), undefined);
    assert.equal(replyAddressFor6('not an address', interfaces), undefined);
  });
});
