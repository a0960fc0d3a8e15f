/**
 * Refusal summaries count only senders the responder would answer (issue 14, item 7 review): a
 * signed request with another key from beyond a router is off-link noise, dropped as such and
 * kept out of the summaries; the same request from an on-link sender is summarised.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { generateKey } from '../../../src/index.js';
import { discoverCliWithEnv, serveWithEnv } from '../beckon.js';
import { startLab } from '../lab.js';

/** Waits (up to 10 s) until `read()` matches `pattern`. */
async function waitForText(read: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(read())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${pattern} in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

it('counts refusals from on-link senders only; off-link ones are dropped as off-link', async (t) => {
  const lab = await startLab(t, {
    router: {
      router: true,
      interfaces: {
        eth0: { segment: 'east', address: '10.6.1.1/24' },
        eth1: { segment: 'west', address: '10.6.2.1/24' },
      },
    },
    remote: {
      interfaces: { eth0: { segment: 'east', address: '10.6.1.20/24' } },
      gateway: '10.6.1.1',
    },
    neighbour: {
      interfaces: { eth0: { segment: 'west', address: '10.6.2.20/24' } },
      gateway: '10.6.2.1',
    },
    server: {
      interfaces: { eth0: { segment: 'west', address: '10.6.2.10/24' } },
      gateway: '10.6.2.1',
    },
  });
  if (!lab) return;
  const serverKey = generateKey();
  const otherKey = { DISCOVERY_CLIENT_AUTH_KEY: generateKey() };
  // Off-link senders are not answered here (DISCOVERY_OFF_LINK=none, the variable's path):
  // their requests are noise to this server.
  const server = await serveWithEnv(
    lab.host('server'),
    { DISCOVERY_AUTH_KEYS: serverKey, DISCOVERY_OFF_LINK: 'none' },
    '--trace',
  );
  const ask = ['--timeout', '0.5', '--retries', '1', '--no-broadcast', '--target', '10.6.2.10'];

  const remote = await discoverCliWithEnv(lab.host('remote'), otherKey, ...ask);
  assert.equal(remote.status, 1, remote.run.stderr);
  await waitForText(() => server.stderr, /Dropped 10\.6\.1\.20:\d+: off-link/);
  assert.doesNotMatch(server.stderr, /refused/, 'an off-link sender was counted');

  const neighbour = await discoverCliWithEnv(lab.host('neighbour'), otherKey, ...ask);
  assert.equal(neighbour.status, 1, neighbour.run.stderr);
  await waitForText(() => server.stderr, /requests? refused/);
  assert.match(
    server.stderr,
    /^warning: 1 request refused: signed with an unknown key \(from 10\.6\.2\.20\); further refusals/m,
  );
  assert.match(server.stderr, /Dropped 10\.6\.2\.20:\d+: unauthenticated/);
});
