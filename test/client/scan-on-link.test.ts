/**
 * The on-link part of a scan (src/client/scan-plan.ts, onLinkAddresses): a scan is slowed to the
 * on-link rate (src/client/scanning.ts) only when it has more on-link addresses than that rate
 * allows in a second (256 with Linux's defaults); a routed /16 scanned from a /24 inside it has
 * only the client's own segment, 256 addresses, on-link.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { onLinkAddresses, parseScan, type ScanRange } from '../../src/client/scan-plan.js';

const iface = (address: string, prefix: number, loopback = false) => ({
  address,
  prefix,
  loopback,
});

it('counts the addresses of the ranges that lie on a local subnet', () => {
  const slash16 = parseScan('scan', '10.20.0.0/16') as ScanRange[];
  assert.equal(onLinkAddresses(slash16, [iface('10.20.1.10', 24)]), 256);
  assert.equal(onLinkAddresses(slash16, [iface('10.20.1.10', 16)]), 65_536);
  assert.equal(onLinkAddresses(slash16, [iface('10.20.1.10', 20)]), 4096);
  assert.equal(onLinkAddresses(slash16, [iface('10.21.1.10', 24)]), 0);
  assert.equal(onLinkAddresses(slash16, [iface('127.0.0.1', 8, true)]), 0);
  const two = parseScan('scan', ['10.20.1.0/24', '10.20.2.0/24', '10.30.0.0/24']) as ScanRange[];
  assert.equal(onLinkAddresses(two, [iface('10.20.1.10', 16)]), 512);
  assert.equal(onLinkAddresses(two, [iface('10.20.1.10', 24), iface('10.30.0.5', 25)]), 384);
});
