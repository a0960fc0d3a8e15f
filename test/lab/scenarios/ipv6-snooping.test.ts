/**
 * Issue 15, scenario 4: a switch with multicast snooping and a querier (docs/ipv6.md, "Multicast
 * groups"). `beckon discover --ipv6` (and `--ipv4`) finds the server through beckon's groups, the
 * bridge learns each group on the server's port only, and the group requests are forwarded to
 * that port alone: a bystander on the same switch never sees them. With snooping off, the same
 * requests are flooded to the bystander, so the counter that stays at zero could have counted.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { it } from 'node:test';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { discoverCli, serve, summary } from '../beckon.js';
import { nftCounter } from '../counters.js';
import { hasCommand, type LabHost, startLab } from '../lab.js';

/**
 * Counts, on the wire of a host's eth0 (netdev ingress/egress, before any IP layer filter), the
 * datagrams to each of beckon's groups and the queries of the bridge's querier. Counting at the
 * device matters: a socket on a host that did not join the group would see nothing even if the
 * switch flooded the datagram, since the kernel drops multicast for groups it did not join.
 */
const COUNTERS = `
table netdev beckon_wire {
  counter v6group {}
  counter v4group {}
  counter v6out {}
  counter v4out {}
  counter mldquery {}
  counter igmpquery {}
  chain ingress {
    type filter hook ingress device "eth0" priority 0; policy accept;
    ip6 daddr ff12::6265:636b udp dport 9999 counter name v6group
    ip daddr 239.255.98.107 udp dport 9999 counter name v4group
    icmpv6 type mld-listener-query counter name mldquery
    ip protocol igmp @th,0,8 0x11 counter name igmpquery
  }
  chain egress {
    type filter hook egress device "eth0" priority 0; policy accept;
    ip6 daddr ff12::6265:636b udp dport 9999 counter name v6out
    ip daddr 239.255.98.107 udp dport 9999 counter name v4out
  }
}`;

async function poll<T>(what: string, get: () => T, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = get();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

it('scenario 4: behind a snooping switch with a querier, the groups reach the server port only', async (t) => {
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  if (!requirePrerequisite(t, hasCommand('bridge'), 'iproute2 bridge')) return;
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: '10.16.0.10/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.16.0.20/24' } } },
    bystander: { interfaces: { eth0: { segment: 'lan', address: '10.16.0.30/24' } } },
  });
  if (!lab) return;
  const server = lab.host('server');
  const client = lab.host('client');
  const bystander = lab.host('bystander');
  const switchNs = `${lab.id}.switch`;
  const bridge = (...args: string[]) =>
    execFileSync('ip', ['-n', switchNs, 'link', 'set', 'br0', 'type', 'bridge', ...args]);
  // The bridge port of a host's eth0: the veth peer whose ifindex eth0's link_index names.
  const portOf = (host: LabHost): string => {
    const [eth0] = JSON.parse(host.ip('-j', 'link', 'show', 'eth0')) as { link_index: number }[];
    const ports = JSON.parse(
      execFileSync('ip', ['-n', switchNs, '-j', 'link', 'show'], { encoding: 'utf8' }),
    ) as { ifindex: number; ifname: string }[];
    const port = ports.find((p) => p.ifindex === eth0?.link_index)?.ifname;
    assert.ok(port, `no bridge port for ${host.name}`);
    return port;
  };
  const mdbPorts = (group: string): string[] => {
    const mdb = execFileSync('bridge', ['-n', switchNs, 'mdb', 'show'], { encoding: 'utf8' });
    const escaped = group.replaceAll('.', '\\.');
    return [...mdb.matchAll(new RegExp(`port (\\S+) grp ${escaped}\\b`, 'g'))]
      .map((m) => m[1] as string)
      .sort();
  };
  const serverLinkLocal = await server.linkLocal('eth0');
  await client.linkLocal('eth0');
  await bystander.linkLocal('eth0');
  for (const host of [server, client, bystander]) host.nft(COUNTERS);

  // Snooping with the bridge as querier (IGMP and MLD), fast startup queries and a 1 s response
  // interval: Linux floods every multicast until it knows a querier exists, and after enabling
  // its own querier waits one response interval before trusting it. The interval is set first:
  // set in the same command as the querier, it would apply after it (the wait would be 10 s).
  bridge(
    'mcast_snooping',
    '1',
    'mcast_query_response_interval',
    '100',
    'mcast_startup_query_interval',
    '100',
  );
  bridge('mcast_querier', '1');
  // The querier is working once its queries reach the hosts (the MLD querier also needs the
  // bridge's own link-local address, past duplicate address detection).
  await poll(
    'queries seen by the bystander',
    () => nftCounter(bystander, 'mldquery'),
    (n) => n > 0,
  );
  await poll(
    'IGMP queries seen by the bystander',
    () => nftCounter(bystander, 'igmpquery'),
    (n) => n > 0,
  );
  await new Promise((resolve) => setTimeout(resolve, 2000)); // > the response interval

  const serverPort = portOf(server);
  const running = await serve(server, '--http-port', '8080');
  // The server's reports (unsolicited at the join, then answers to the queries) register both
  // groups on its port, and on no other: the client and the bystander joined nothing.
  assert.deepEqual(
    await poll(
      'mdb for ff12::6265:636b',
      () => mdbPorts('ff12::6265:636b'),
      (p) => p.length > 0,
    ),
    [serverPort],
  );
  assert.deepEqual(
    await poll(
      'mdb for 239.255.98.107',
      () => mdbPorts('239.255.98.107'),
      (p) => p.length > 0,
    ),
    [serverPort],
  );

  // IPv6: only the group can carry the request (no broadcast in IPv6).
  const v6 = await discoverCli(client, '--ipv6', '--timeout', '1');
  assert.equal(v6.status, 0, v6.run.stderr);
  assert.deepEqual(summary(v6.servers), [`${serverLinkLocal}%eth0:8080@eth0`]);
  const sentV6 = nftCounter(client, 'v6out');
  assert.ok(sentV6 >= 1, 'the client sent no request to ff12::6265:636b');
  assert.ok(nftCounter(server, 'v6group') >= 1, 'the group request did not reach the server');
  assert.equal(nftCounter(bystander, 'v6group'), 0, 'the IPv6 group request was flooded');

  // IPv4: broadcast and the group in the same run (the client has no "group only" mode); the
  // counters single out the group's datagrams.
  const v4 = await discoverCli(client, '--ipv4', '--timeout', '1');
  assert.equal(v4.status, 0, v4.run.stderr);
  assert.deepEqual(summary(v4.servers), ['10.16.0.10:8080@eth0']);
  const sentV4 = nftCounter(client, 'v4out');
  assert.ok(sentV4 >= 1, 'the client sent no request to 239.255.98.107');
  assert.ok(nftCounter(server, 'v4group') >= 1, 'the IPv4 group request did not reach the server');
  assert.equal(nftCounter(bystander, 'v4group'), 0, 'the IPv4 group request was flooded');
  assert.deepEqual(mdbPorts('ff12::6265:636b'), [serverPort], 'still the server port only');
  assert.deepEqual(mdbPorts('239.255.98.107'), [serverPort]);
  assert.match(running.stdout, /Replied to fe80::/);
  t.diagnostic(
    `sent ${sentV6} IPv6 and ${sentV4} IPv4 group requests; the bystander received none; ` +
      `mdb: both groups on ${serverPort} only`,
  );

  // Control: without snooping the bridge floods the same requests to the bystander.
  bridge('mcast_snooping', '0');
  const flooded = await discoverCli(client, '--timeout', '1');
  assert.equal(flooded.status, 0, flooded.run.stderr);
  assert.ok(nftCounter(bystander, 'v6group') >= 1, 'the bystander counts no flooded IPv6 request');
  assert.ok(nftCounter(bystander, 'v4group') >= 1, 'the bystander counts no flooded IPv4 request');
});
