/**
 * Issue 15, scenario 6: 30% packet loss over IPv6 (the IPv4 scenario is loss.test.ts). The
 * client asks over IPv6 only (`family: 'IPv6'`: the group ff12::6265:636b on its link), and
 * nftables in the client's namespace drops IPv6 discovery traffic at random (this kernel has no
 * netem).
 */
import assert from 'node:assert/strict';
import { it, type TestContext } from 'node:test';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { discoverRepeatedly, serve } from '../beckon.js';
import { nftCounter } from '../counters.js';
import { hasCommand, startLab } from '../lab.js';

/**
 * 30% of the IPv6 requests the client sends are dropped, as `netem loss 30%` on its interface
 * (netem acts on egress) would; with `answers`, 30% of the answers it receives are dropped too.
 */
function lossyLink(answers: boolean): string {
  return `
table inet beckon_loss {
  counter requests {}
  counter answers {}
  chain output {
    type filter hook output priority 0; policy accept;
    meta nfproto ipv6 udp dport 9999 numgen random mod 100 < 30 counter name requests drop
  }
  chain input {
    type filter hook input priority 0; policy accept;
    ${answers ? '' : '# '}meta nfproto ipv6 udp sport 9999 numgen random mod 100 < 30 counter name answers drop
  }
}`;
}

/**
 * A server and a client on one link with IPv6 link-local addresses only (no IPv4, so nothing but
 * IPv6 could find the server), `beckon serve` running, and the client's link made lossy. Each
 * test builds its own lab, so each stays well inside the suite's 120 s per test.
 */
async function lossyLab(t: TestContext, answers: boolean) {
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return undefined;
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: [] } } },
    client: { interfaces: { eth0: { segment: 'lan', address: [] } } },
  });
  if (!lab) return undefined;
  const server = lab.host('server');
  const client = lab.host('client');
  const serverLinkLocal = await server.linkLocal('eth0');
  await client.linkLocal('eth0');
  await serve(server, '--http-port', '8080', '--rate-limit', '0');
  client.nft(lossyLink(answers));
  return { client, url: `http://[${serverLinkLocal}%25eth0]:8080` };
}

const IPV6 = { family: 'IPv6' };
const ONE_REQUEST = { ...IPV6, retries: 0, timeout: 300 };

it('scenario 6: with 30% of IPv6 requests lost, default retries find the server at least 99 times in 100', async (t) => {
  const lossy = await lossyLab(t, false);
  if (!lossy) return;
  const { client, url } = lossy;
  // As the IPv4 scenario: with six sends a discovery fails with probability 0.3^6 (0.07%): ~0.7
  // misses expected in 1,000, more than 10 essentially never.
  const withRetries = await discoverRepeatedly(client, IPV6, 1000, 10);
  const noRetries = await discoverRepeatedly(client, ONE_REQUEST, 100, 10);
  const dropped = nftCounter(client, 'requests');
  t.diagnostic(
    `default retries ${withRetries.found}/1000 found, none ${noRetries.found}/100; ` +
      `${dropped} requests dropped`,
  );
  assert.ok(withRetries.found >= 990, `default retries found only ${withRetries.found}/1000`);
  assert.deepEqual(withRetries.servers, [url]);
  // A single request gets through about 70 times in 100: the loss is real and visible.
  assert.ok(noRetries.found <= 90, `without retries ${noRetries.found}/100 found: no loss?`);
  assert.ok(noRetries.found >= 40, `without retries only ${noRetries.found}/100 found`);
  assert.ok(dropped >= 300, `the rule dropped only ${dropped} requests`);
});

it('scenario 6: with 30% lost each way over IPv6, default retries find the server at least 96 times in 100', async (t) => {
  const lossy = await lossyLab(t, true);
  if (!lossy) return;
  const { client, url } = lossy;
  // One exchange gets through with probability 0.7 × 0.7 = 0.49, and six fail together with
  // probability 0.51^6 (1.8%): ~18 misses expected in 1,000 (standard deviation ~4), so 99%
  // cannot be held, and 96% is the bar (5 deviations away).
  const withRetries = await discoverRepeatedly(client, IPV6, 1000, 10);
  const noRetries = await discoverRepeatedly(client, ONE_REQUEST, 100, 10);
  const dropped = nftCounter(client, 'answers');
  t.diagnostic(
    `default retries ${withRetries.found}/1000 found, none ${noRetries.found}/100; ` +
      `${dropped} answers dropped`,
  );
  assert.ok(withRetries.found >= 960, `default retries found only ${withRetries.found}/1000`);
  assert.deepEqual(withRetries.servers, [url]);
  assert.ok(noRetries.found <= 70, `without retries ${noRetries.found}/100 found: no loss?`);
  assert.ok(noRetries.found >= 25, `without retries only ${noRetries.found}/100 found`);
  assert.ok(dropped >= 200, `the rule dropped only ${dropped} answers`);
});
