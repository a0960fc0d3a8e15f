import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  broadcastAddress,
  cidrContains,
  cidrHosts,
  formatIPv4,
  isPrivate,
  isRfc1918,
  netmaskPrefix,
  parseCidr,
  parseIPv4,
} from '../../src/network/ipv4.js';

describe('ipv4', () => {
  it('parses only canonical dotted decimal', () => {
    assert.equal(parseIPv4('10.0.0.1'), 0x0a000001);
    assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
    for (const bad of ['010.0.0.1', '1.2.3', '1.2.3.4.5', '256.1.1.1', ' 1.2.3.4', '', 'a.b.c.d']) {
      assert.equal(parseIPv4(bad), undefined, bad);
    }
    assert.equal(formatIPv4(0xc0a8010a), '192.168.1.10');
  });

  it('converts netmasks to prefixes and rejects holes', () => {
    assert.equal(netmaskPrefix('255.255.255.0'), 24);
    assert.equal(netmaskPrefix('255.255.240.0'), 20);
    assert.equal(netmaskPrefix('0.0.0.0'), 0);
    assert.equal(netmaskPrefix('255.255.255.255'), 32);
    assert.equal(netmaskPrefix('255.0.255.0'), undefined);
  });

  it('computes directed broadcast from address and prefix, never assuming /24', () => {
    assert.equal(broadcastAddress('192.168.1.10', 24), '192.168.1.255');
    assert.equal(broadcastAddress('10.20.3.4', 16), '10.20.255.255');
    assert.equal(broadcastAddress('172.16.5.1', 20), '172.16.15.255');
    assert.equal(broadcastAddress('10.0.0.1', 31), undefined);
    assert.equal(broadcastAddress('10.0.0.1', 32), undefined);
  });

  it('parses CIDRs and tests membership', () => {
    const net = parseCidr('10.1.2.3/16');
    assert.deepEqual(net, { network: 0x0a010000, prefix: 16 });
    assert.ok(net && cidrContains(net, parseIPv4('10.1.200.1') ?? 0));
    assert.ok(net && !cidrContains(net, parseIPv4('10.2.0.1') ?? 0));
    assert.deepEqual(parseCidr('1.2.3.4'), { network: 0x01020304, prefix: 32 });
    for (const bad of ['1.2.3.4/33', '1.2.3.4/', '1.2.3/8', '1.2.3.4/8/8', '1.2.3.4/x']) {
      assert.equal(parseCidr(bad), undefined, bad);
    }
  });

  it('lists the hosts of small networks', () => {
    assert.deepEqual(cidrHosts(parseCidr('10.0.0.0/30') ?? { network: 0, prefix: 0 }), [
      '10.0.0.1',
      '10.0.0.2',
    ]);
    assert.equal(cidrHosts(parseCidr('10.0.0.0/24') ?? { network: 0, prefix: 0 }).length, 254);
    assert.deepEqual(cidrHosts(parseCidr('10.0.0.7/32') ?? { network: 0, prefix: 0 }), [
      '10.0.0.7',
    ]);
  });

  it('classes private and public ranges', () => {
    for (const ip of [
      '10.1.1.1',
      '172.31.0.1',
      '192.168.0.1',
      '100.64.0.1',
      '169.254.1.1',
      '127.0.0.1',
    ]) {
      assert.ok(isPrivate(parseIPv4(ip) ?? 0), ip);
    }
    for (const ip of ['8.8.8.8', '172.32.0.1', '192.0.2.1', '100.128.0.1']) {
      assert.ok(!isPrivate(parseIPv4(ip) ?? 0), ip);
    }
  });

  it('tells RFC 1918 apart from the other private ranges', () => {
    for (const ip of ['10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.9.9', '192.168.0.1']) {
      assert.ok(isRfc1918(parseIPv4(ip) ?? 0), ip);
    }
    for (const ip of ['100.64.0.1', '169.254.1.1', '127.0.0.1', '172.32.0.1', '11.0.0.1']) {
      assert.ok(!isRfc1918(parseIPv4(ip) ?? 0), ip);
    }
  });
});
