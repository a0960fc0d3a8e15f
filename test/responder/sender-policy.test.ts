import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionError } from '../../src/errors.js';
import { InterfaceCache } from '../../src/network/interface-cache.js';
import { describeAddress, type NetworkInterface } from '../../src/network/interfaces.js';
import { parseCidr } from '../../src/network/ipv4.js';
import { amplificationWarning, resolveResponderSettings } from '../../src/responder/options.js';
import { RateLimiter } from '../../src/responder/rate-limit.js';
import {
  judgeSender,
  type OffLinkPolicy,
  replyAddressFor,
} from '../../src/responder/sender-policy.js';

const iface = (name: string, address: string, prefix: number, loopback = false): NetworkInterface =>
  describeAddress(name, address, prefix, true, {}, loopback);

// A multi-homed host: two LANs, a wide corporate /16 holding a more specific /24, a public one.
const host = [
  iface('lo', '127.0.0.1', 8, true),
  iface('eth0', '192.168.1.10', 24),
  iface('eth1', '10.0.5.1', 24),
  iface('eth2', '10.0.9.9', 16),
  iface('wan0', '203.0.113.5', 24),
];

describe('reply address', () => {
  it('is the address of the interface in the requester subnet', () => {
    assert.equal(replyAddressFor('192.168.1.77', host), '192.168.1.10');
    assert.equal(replyAddressFor('10.0.5.20', host), '10.0.5.1');
    assert.equal(replyAddressFor('10.0.200.3', host), '10.0.9.9');
  });

  it("is the service's one address when the requester reaches it the same way", () => {
    const secondary = [...host, iface('eth0', '192.168.1.11', 24)];
    assert.equal(replyAddressFor('192.168.1.77', secondary, '192.168.1.11'), '192.168.1.11');
    assert.equal(replyAddressFor('127.0.0.1', host, '127.0.0.2'), '127.0.0.2');
    // Not reachable that way: the usual address, which the responder then refuses to send.
    assert.equal(replyAddressFor('10.0.5.20', secondary, '192.168.1.11'), '10.0.5.1');
    assert.equal(replyAddressFor('127.0.0.1', host, '192.168.1.10'), '127.0.0.1');
    assert.equal(replyAddressFor('192.168.1.77', host, '192.168.1.99'), '192.168.1.10');
  });

  it('is 127.0.0.1 only for loopback requesters', () => {
    assert.equal(replyAddressFor('127.0.0.1', host), '127.0.0.1');
    assert.equal(replyAddressFor('127.3.2.1', host), '127.0.0.1');
    assert.equal(replyAddressFor('172.16.0.1', host), undefined);
  });
});

describe('allowed senders', () => {
  const allow = [parseCidr('172.20.0.0/16'), parseCidr('198.51.100.7')].filter(
    (c) => c !== undefined,
  );
  const verdict = (ip: string, offLink?: OffLinkPolicy) => {
    const v = judgeSender(ip, host, allow, offLink);
    return v.allowed ? v.via : v.reason;
  };

  it('answers loopback, private on-link and allow-listed senders', () => {
    assert.equal(verdict('127.0.0.1'), 'loopback');
    assert.equal(verdict('192.168.1.50'), 'on-link');
    assert.equal(verdict('10.0.77.1'), 'on-link');
    assert.equal(verdict('172.20.3.3'), 'allow-list');
    assert.equal(verdict('198.51.100.7'), 'allow-list');
  });

  it('answers RFC 1918 senders behind a router as private-off-link, unless offLink is none', () => {
    assert.equal(verdict('192.168.2.1'), 'private-off-link');
    assert.equal(verdict('172.31.255.254'), 'private-off-link');
    assert.equal(verdict('10.0.200.3'), 'on-link', 'inside eth2 /16: on-link, not off-link');
    assert.equal(verdict('192.168.2.1', 'private'), 'private-off-link');
    assert.equal(verdict('192.168.2.1', 'none'), 'off-link');
    assert.equal(verdict('172.31.255.254', 'none'), 'off-link');
    // allow wins over the off-link rule (the normal rate limit applies to it).
    assert.equal(verdict('172.20.3.3', 'none'), 'allow-list');
    assert.equal(verdict('172.20.3.3', 'private'), 'allow-list');
  });

  it('refuses carrier-grade NAT, link-local and public senders behind a router', () => {
    // 100.64/10 is shared by a carrier's subscribers: not "ours", so not answered off-link.
    assert.equal(verdict('100.64.0.1'), 'off-link');
    assert.equal(verdict('100.127.255.254'), 'off-link');
    assert.equal(verdict('169.254.3.4'), 'off-link');
    assert.equal(verdict('172.32.0.1'), 'off-link', 'just outside 172.16/12');
    assert.equal(verdict('11.0.0.1'), 'off-link', 'just outside 10/8');
    assert.equal(verdict('8.8.8.8', 'private'), 'off-link');
  });

  it('refuses off-link (with offLink none), public and impossible senders', () => {
    assert.equal(verdict('192.168.2.1', 'none'), 'off-link');
    assert.equal(verdict('8.8.8.8'), 'off-link');
    assert.equal(verdict('203.0.113.9'), 'public');
    assert.equal(verdict('0.0.0.0'), 'invalid-source');
    assert.equal(verdict('255.255.255.255'), 'invalid-source');
    assert.equal(verdict('224.0.0.251'), 'invalid-source');
  });
});

describe('offLink option', () => {
  it("is 'private' by default, from DISCOVERY_OFF_LINK, or the option (which wins)", () => {
    assert.equal(resolveResponderSettings({ env: {} }).offLink, 'private');
    assert.equal(resolveResponderSettings({ env: { DISCOVERY_OFF_LINK: 'none' } }).offLink, 'none');
    const both = resolveResponderSettings({
      offLink: 'private',
      env: { DISCOVERY_OFF_LINK: 'none' },
    });
    assert.equal(both.offLink, 'private');
  });

  it('refuses other values, naming the option or the variable', () => {
    assert.throws(
      () => resolveResponderSettings({ env: {}, offLink: 'all' as OffLinkPolicy }),
      (error) =>
        error instanceof InvalidOptionError &&
        error.option === 'offLink' &&
        /"all".*'private'.*'none'/.test(error.message),
    );
    assert.throws(
      () => resolveResponderSettings({ env: { DISCOVERY_OFF_LINK: 'off' } }),
      (error) => error instanceof InvalidOptionError && error.option === 'DISCOVERY_OFF_LINK',
    );
  });

  it('is named in the amplification warning with the off-link limits', () => {
    const settings = resolveResponderSettings({ env: {}, message: 'x', httpPort: 8080 });
    assert.match(
      amplificationWarning(settings) ?? '',
      /private off-link senders at most 1 reply\/s each after a burst of 4, 20\/s in all/,
    );
    const none = resolveResponderSettings({ env: {}, message: 'x', offLink: 'none' });
    assert.doesNotMatch(amplificationWarning(none) ?? '', /off-link/);
  });
});

describe('rate limiter', () => {
  it('allows a burst of `rate` then one token per 1/rate seconds', () => {
    const limiter = new RateLimiter(5);
    const burst = Array.from({ length: 10 }, () => limiter.take('a', 0)).filter(Boolean).length;
    assert.equal(burst, 5);
    assert.equal(limiter.take('a', 100), false);
    assert.equal(limiter.take('a', 200), true);
    assert.equal(limiter.take('b', 200), true, 'sources are independent');
  });

  it('keeps memory bounded under many sources', () => {
    const limiter = new RateLimiter(1, 100);
    for (let i = 0; i < 10_000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`, 0);
    assert.equal(limiter.size, 100);
  });

  it('still answers a source now and then at a rate below 1 per second', () => {
    const limiter = new RateLimiter(0.5);
    assert.equal(limiter.take('a', 0), true);
    assert.equal(limiter.take('a', 1000), false);
    assert.equal(limiter.take('a', 2000), true);
  });

  it('takes a burst other than its rate (the off-link limit: 1/s after 4)', () => {
    const limiter = new RateLimiter(1, 4096, 4);
    const burst = Array.from({ length: 10 }, () => limiter.take('a', 0)).filter(Boolean).length;
    assert.equal(burst, 4);
    assert.equal(limiter.take('a', 500), false);
    assert.equal(limiter.take('a', 1000), true);
    assert.equal(limiter.take('a', 1500), false);
  });

  it('is off at 0', () => {
    const limiter = new RateLimiter(0);
    assert.ok(Array.from({ length: 1000 }, () => limiter.take('a', 0)).every(Boolean));
  });
});

describe('interface cache', () => {
  it('re-reads the interfaces once they are older than the maximum age', () => {
    let address = '10.0.0.1';
    let reads = 0;
    const cache = new InterfaceCache(() => {
      reads++;
      return [iface('eth0', address, 24)];
    }, 250);
    assert.equal(cache.get(0)[0]?.address, '10.0.0.1');
    address = '10.0.0.2';
    assert.equal(cache.get(100)[0]?.address, '10.0.0.1');
    assert.equal(cache.get(250)[0]?.address, '10.0.0.2');
    assert.equal(reads, 2);
  });
});
