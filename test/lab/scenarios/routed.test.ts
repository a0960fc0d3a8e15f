import assert from 'node:assert/strict';
import { it } from 'node:test';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { discoverCli, discoverLib, serve, summary } from '../beckon.js';
import { hasCommand, startLab } from '../lab.js';

/** Counts the discovery requests that reach a host. */
const COUNT_REQUESTS = `
table inet beckon_count {
  chain input {
    type filter hook input priority 0; policy accept;
    udp dport 9999 counter
  }
}`;

it('scenario 5: across a router, broadcast finds the local segment and --target the other', async (t) => {
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  // 10.5.0.0/16 split into two /24 segments, joined by a router.
  const lab = await startLab(t, {
    router: {
      router: true,
      interfaces: {
        eth0: { segment: 'east', address: '10.5.1.1/24' },
        eth1: { segment: 'west', address: '10.5.2.1/24' },
      },
    },
    // The client's first interface is a stub, so a reply from beyond the router is tagged eth0
    // only if the route to its source is really looked up.
    client: {
      interfaces: {
        stub0: { segment: 'stub', address: '10.5.9.20/24' },
        eth0: { segment: 'east', address: '10.5.1.20/24' },
      },
      gateway: '10.5.1.1',
    },
    near: {
      interfaces: { eth0: { segment: 'east', address: '10.5.1.10/24' } },
      gateway: '10.5.1.1',
    },
    far: {
      interfaces: { eth0: { segment: 'west', address: '10.5.2.10/24' } },
      gateway: '10.5.2.1',
    },
    // A server that answers only on-link senders (--off-link none).
    guarded: {
      interfaces: { eth0: { segment: 'west', address: '10.5.2.11/24' } },
      gateway: '10.5.2.1',
    },
  });
  if (!lab) return;
  await serve(lab.host('near'), '--http-port', '8080');
  const far = await serve(lab.host('far'), '--http-port', '8080', '--allow', '10.5.0.0/16');
  const guarded = await serve(lab.host('guarded'), '--http-port', '8080', '--off-link', 'none');
  lab.host('guarded').nft(COUNT_REQUESTS);
  const client = lab.host('client');

  const local = await discoverCli(client, '--timeout', '1');
  assert.deepEqual(summary(local.servers), ['10.5.1.10:8080@eth0']);

  const byHost = await discoverCli(client, '--timeout', '1', '--target', '10.5.2.10');
  assert.deepEqual(summary(byHost.servers), ['10.5.1.10:8080@eth0', '10.5.2.10:8080@eth0']);
  assert.match(far.stdout, /Replied to 10\.5\.1\.20:\d+ with SERVER_IP:10\.5\.2\.10:8080\n/);

  const byCidr = await discoverLib(client, { timeout: 1500, targets: ['10.5.2.0/24'] });
  assert.deepEqual(summary(byCidr), ['10.5.1.10:8080@eth0', '10.5.2.10:8080@eth0']);
  // The guarded server got the unicast requests but does not answer off-link senders.
  const requests = Number(/counter packets (\d+)/.exec(lab.host('guarded').nftList())?.[1]);
  assert.ok(requests > 0, 'the guarded server received no request');
  assert.doesNotMatch(guarded.stdout, /Replied to/);

  const farOnly = await discoverCli(
    client,
    '--timeout',
    '1',
    '--no-broadcast',
    '--target',
    '10.5.2.0/24',
  );
  assert.deepEqual(summary(farOnly.servers), ['10.5.2.10:8080@eth0']);
});
