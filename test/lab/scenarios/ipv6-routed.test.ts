/**
 * Issue 15, scenario 5: two IPv6 links (ULA prefixes fd10:0:0:1::/64 and fd10:0:0:2::/64)
 * joined by an IPv6 router. The group ff12::6265:636b is link-local scope and stays on its link,
 * so `beckon discover --ipv6` finds nothing beyond the router; `--target` with the server's ULA
 * does, when the server allows the client's prefix (or, by default, answers private off-link
 * senders; a server with --off-link none refuses them, as for IPv4 in routed.test.ts), and the
 * result's url works with fetch.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { discoverCli, serve, summary } from '../beckon.js';
import { nftCounter } from '../counters.js';
import { hasCommand, type LabHost, startLab } from '../lab.js';

/**
 * Counts, on the wire of eth0 (netdev ingress), requests to beckon's IPv6 group and unicast IPv6
 * requests.
 */
const COUNTERS = `
table netdev beckon_wire {
  counter group {}
  counter unicast {}
  chain ingress {
    type filter hook ingress device "eth0" priority 0; policy accept;
    ip6 daddr ff12::6265:636b udp dport 9999 counter name group
    ip6 daddr != ff00::/8 udp dport 9999 counter name unicast
  }
}`;

it('scenario 5: IPv6 across a router: the group stays on its link, --target with the ULA finds the server', async (t) => {
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  // IPv6 only: the lab's addresses are IPv4, so the hosts get none, and their ULAs below.
  const lab = await startLab(t, {
    router: {
      interfaces: {
        eth0: { segment: 'east', address: [] },
        eth1: { segment: 'west', address: [] },
      },
    },
    client: { interfaces: { eth0: { segment: 'east', address: [] } } },
    far: { interfaces: { eth0: { segment: 'west', address: [] } } },
    // A server that answers only on-link senders (--off-link none).
    guarded: { interfaces: { eth0: { segment: 'west', address: [] } } },
  });
  if (!lab) return;
  const router = lab.host('router');
  const client = lab.host('client');
  const far = lab.host('far');
  const guarded = lab.host('guarded');
  const ula = (host: LabHost, ifname: string, address: string) =>
    host.ip('addr', 'add', `${address}/64`, 'dev', ifname, 'nodad');
  ula(router, 'eth0', 'fd10:0:0:1::1');
  ula(router, 'eth1', 'fd10:0:0:2::1');
  ula(client, 'eth0', 'fd10:0:0:1::20');
  ula(far, 'eth0', 'fd10:0:0:2::10');
  ula(guarded, 'eth0', 'fd10:0:0:2::11');
  router.writeProc('sys/net/ipv6/conf/all/forwarding', '1');
  client.ip('-6', 'route', 'add', 'fd10:0:0:2::/64', 'via', 'fd10:0:0:1::1');
  for (const host of [far, guarded]) {
    host.ip('-6', 'route', 'add', 'fd10:0:0:1::/64', 'via', 'fd10:0:0:2::1');
  }
  for (const [host, ifname] of [
    [router, 'eth0'],
    [router, 'eth1'],
    [client, 'eth0'],
    [far, 'eth0'],
    [guarded, 'eth0'],
  ] as const) {
    await host.linkLocal(ifname); // past duplicate address detection: sends from it work
  }
  for (const host of [client, far, guarded]) {
    assert.equal(host.ip('-4', '-o', 'addr', 'show', 'scope', 'global'), '', 'no IPv4 at all');
  }
  for (const host of [router, far, guarded]) host.nft(COUNTERS);

  const farServer = await serve(far, '--http-port', '8080', '--allow', 'fd10:0:0:1::/64');
  const guardedServer = await serve(
    guarded,
    '--http-port',
    '8080',
    '--trace',
    '--off-link',
    'none',
  );
  const http = far.spawn(process.execPath, [
    '-e',
    `require('node:http').createServer((q, s) => s.end('far over ' + q.socket.remoteAddress))
      .listen(8080, '::', () => console.log('ready'));`,
  ]);
  await http.waitFor(/ready/);

  // The group is link-local scope: the router hears it on its east link and forwards nothing
  // (the servers' links never see it).
  const local = await discoverCli(client, '--ipv6', '--timeout', '1');
  assert.equal(local.status, 1, `found ${JSON.stringify(local.servers)}`);
  assert.deepEqual(local.servers, []);
  assert.ok(nftCounter(router, 'group') >= 1, 'the group request never reached the router');
  assert.equal(nftCounter(far, 'group'), 0, 'a group request crossed the router');
  assert.equal(nftCounter(guarded, 'group'), 0);

  // By unicast to the ULA, routed: answered by the server that allows the client's prefix.
  const byTarget = await discoverCli(
    client,
    '--ipv6',
    '--no-broadcast',
    '--timeout',
    '1',
    '--target',
    'fd10:0:0:2::10',
  );
  assert.equal(byTarget.status, 0, byTarget.run.stderr);
  assert.deepEqual(summary(byTarget.servers), ['fd10:0:0:2::10:8080@eth0']);
  const [found] = byTarget.servers;
  assert.equal(found?.url, 'http://[fd10:0:0:2::10]:8080');
  assert.deepEqual(
    found?.addresses.map((a) => `${a.address} ${a.family}`),
    ['fd10:0:0:2::10 IPv6'],
  );
  assert.match(farServer.stdout, /Replied to fd10:0:0:1::20:\d+ /);
  assert.ok(nftCounter(far, 'unicast') >= 1);

  // The url works with fetch, across the router.
  const fetched = await client.run(process.execPath, [
    '-e',
    `fetch(${JSON.stringify(`${found?.url}/`)}).then((r) => r.text()).then((b) => console.log(b));`,
  ]);
  assert.equal(fetched.status, 0, fetched.stderr);
  assert.equal(fetched.stdout.trim(), 'far over fd10:0:0:1::20');

  // Without --allow the server gets the routed requests and drops them as off-link.
  const refused = await discoverCli(
    client,
    '--ipv6',
    '--no-broadcast',
    '--timeout',
    '1',
    '--target',
    'fd10:0:0:2::11',
  );
  assert.equal(refused.status, 1, `found ${JSON.stringify(refused.servers)}`);
  assert.ok(nftCounter(guarded, 'unicast') >= 1, 'the guarded server received no request');
  assert.doesNotMatch(guardedServer.stdout, /Replied to/);
  assert.match(guardedServer.stderr, /Dropped fd10:0:0:1::20:\d+: off-link/);

  // Both targets in one run: only the allowing server answers.
  const both = await discoverCli(
    client,
    '--ipv6',
    '--no-broadcast',
    '--timeout',
    '1',
    '--target',
    'fd10:0:0:2::10',
    '--target',
    'fd10:0:0:2::11',
  );
  assert.deepEqual(summary(both.servers), ['fd10:0:0:2::10:8080@eth0']);

  // The same server with the default policy answers the client's ULA behind the router
  // (private off-link, docs/security.md), advertising its own ULA.
  await guardedServer.stop();
  const byDefault = await serve(guarded, '--http-port', '8080');
  const answered = await discoverCli(
    client,
    '--ipv6',
    '--no-broadcast',
    '--timeout',
    '1',
    '--target',
    'fd10:0:0:2::11',
  );
  assert.deepEqual(summary(answered.servers), ['fd10:0:0:2::11:8080@eth0']);
  assert.match(byDefault.stdout, /Replied to fd10:0:0:1::20:\d+ with extended fd10:0:0:2::11:8080/);
});
