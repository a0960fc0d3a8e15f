import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli, discoverLib, serve, summary } from '../beckon.js';
import { startLab } from '../lab.js';

it('scenario 5: across a router, broadcast finds the local segment and --target the other', async (t) => {
  // 10.5.0.0/16 split into two /24 segments, joined by a router.
  const lab = await startLab(t, {
    router: {
      router: true,
      interfaces: {
        eth0: { segment: 'east', address: '10.5.1.1/24' },
        eth1: { segment: 'west', address: '10.5.2.1/24' },
      },
    },
    client: {
      interfaces: { eth0: { segment: 'east', address: '10.5.1.20/24' } },
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
    // A server that answers only on-link senders, as by default.
    guarded: {
      interfaces: { eth0: { segment: 'west', address: '10.5.2.11/24' } },
      gateway: '10.5.2.1',
    },
  });
  if (!lab) return;
  await serve(lab.host('near'), '--http-port', '8080');
  const far = await serve(lab.host('far'), '--http-port', '8080', '--allow', '10.5.0.0/16');
  const guarded = await serve(lab.host('guarded'), '--http-port', '8080');
  const client = lab.host('client');

  const local = await discoverCli(client, '--timeout', '1');
  assert.deepEqual(summary(local.servers), ['10.5.1.10:8080@eth0']);

  const byHost = await discoverCli(client, '--timeout', '1', '--target', '10.5.2.10');
  assert.deepEqual(summary(byHost.servers), ['10.5.1.10:8080@eth0', '10.5.2.10:8080@eth0']);
  assert.match(far.stdout, /Replied to 10\.5\.1\.20:\d+ with SERVER_IP:10\.5\.2\.10:8080\n/);

  const byCidr = await discoverLib(client, { timeout: 1500, targets: ['10.5.2.0/24'] });
  assert.deepEqual(summary(byCidr), ['10.5.1.10:8080@eth0', '10.5.2.10:8080@eth0']);
  // The guarded server got the unicast requests but does not answer off-link senders.
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
