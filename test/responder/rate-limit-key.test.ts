/** Rate-limit buckets of IPv6 sources (src/responder/rate-limit-key.ts). */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { RateLimiter } from '../../src/responder/rate-limit.js';
import { rateLimitKey } from '../../src/responder/rate-limit-key.js';

it('groups routable IPv6 sources per /64, keeps link-local per interface, maps ::ffff: to IPv4', () => {
  assert.equal(rateLimitKey('2001:db8:1:2::5'), '2001:db8:1:2::/64');
  assert.equal(rateLimitKey('2001:DB8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  assert.equal(rateLimitKey('fd00::1%eth0'), 'fd00::/64');
  assert.notEqual(rateLimitKey('2001:db8:1:3::5'), rateLimitKey('2001:db8:1:2::5'));
  assert.equal(rateLimitKey('fe80::5%eth0'), 'fe80::5%eth0');
  assert.notEqual(rateLimitKey('fe80::5%eth1'), rateLimitKey('fe80::5%eth0'));
  assert.equal(rateLimitKey('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(rateLimitKey('10.0.0.1'), '10.0.0.1');
  assert.equal(rateLimitKey('::1'), '::1');
  assert.equal(rateLimitKey('x'.repeat(1000)), 'x'.repeat(64));
});

it('a spoofer rotating addresses inside one /64 gets one burst, not one per address', () => {
  const limiter = new RateLimiter(5);
  let answered = 0;
  for (let i = 1; i <= 1000; i++) {
    if (limiter.take(rateLimitKey(`2001:db8:1:2::${i.toString(16)}`), 0)) answered++;
  }
  assert.equal(answered, 5);
  assert.equal(limiter.size, 1);
});

it('never throws and keeps keys short (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
      assert.ok(rateLimitKey(text).length <= 130);
    }),
    { numRuns: 3000 },
  );
});
