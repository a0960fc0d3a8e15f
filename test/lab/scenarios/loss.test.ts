import assert from 'node:assert/strict';
import { it } from 'node:test';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { discoverRepeatedly, serve } from '../beckon.js';
import { hasCommand, startLab } from '../lab.js';

/**
 * What `tc qdisc add dev eth0 root netem loss 30%` does on the client (this kernel has no netem):
 * each discovery request the client sends is dropped with probability 30%.
 */
const LOSSY_LINK = `
table inet beckon_loss {
  chain output {
    type filter hook output priority 0; policy accept;
    udp dport 9999 numgen random mod 10 < 3 counter drop
  }
}`;

it('scenario 6: with 30% loss, default retries find the server at least 99 times in 100', async (t) => {
  // 1,000 discoveries, so that "99 in 100" is a rate the test can hold without flaking: with
  // six sends a discovery fails with probability 0.3^6 (0.07%), so ~0.7 misses are expected and
  // more than 10 essentially never happen, while 100 tries would fail the bar 1 run in 375.
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: '10.6.0.10/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.6.0.20/24' } } },
  });
  if (!lab) return;
  await serve(lab.host('server'), '--http-port', '8080', '--rate-limit', '0');
  const client = lab.host('client');
  client.nft(LOSSY_LINK);

  // IPv4 only (test/lab/scenarios/ipv6-loss.test.ts does IPv6).
  const ipv4 = { family: 'IPv4' } as const;
  const withRetries = await discoverRepeatedly(client, ipv4, 1000, 10);
  const noRetries = await discoverRepeatedly(
    client,
    { ...ipv4, retries: 0, timeout: 300 },
    100,
    10,
  );
  t.diagnostic(`default retries: ${withRetries.found}/1000 found; none: ${noRetries.found}/100`);
  assert.ok(withRetries.found >= 990, `default retries found only ${withRetries.found}/1000`);
  assert.deepEqual(withRetries.servers, ['http://10.6.0.10:8080']);
  // One round sends two requests, to the broadcast address and to the IPv4 group, each lost
  // 30% of the time: about 91 runs in 100 get through. The loss is real and visible.
  assert.ok(noRetries.found <= 99, `without retries ${noRetries.found}/100 found: no loss?`);
  assert.ok(noRetries.found >= 70, `without retries only ${noRetries.found}/100 found`);
  const dropped = Number(/counter packets (\d+)/.exec(client.nftList())?.[1]);
  assert.ok(dropped >= 300, `the rule dropped only ${dropped} requests`);
});
