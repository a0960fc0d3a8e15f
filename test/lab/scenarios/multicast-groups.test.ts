/**
 * The responder in beckon's multicast groups (docs/ipv6.md, "Multicast groups"): the kernel
 * lists its memberships, and a request sent to a group from another host, with no broadcast, is
 * answered by unicast from the responder's own address.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { askGroup, groupMembers, startResponderIn, warningsOf } from '../groups.js';
import { startLab } from '../lab.js';

it('a responder joins ff12::6265:636b and 239.255.98.107 on its link and answers requests sent to them', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { lan0: { segment: 'lan', address: '10.15.0.10/24' } } },
    client: { interfaces: { eth1: { segment: 'lan', address: '10.15.0.20/24' } } },
  });
  if (!lab) return;
  const server = lab.host('server');
  const client = lab.host('client');
  const serverLinkLocal = await server.linkLocal('lan0');
  const clientLinkLocal = await client.linkLocal('eth1');
  const running = await startResponderIn(server, { port: 9999, httpPort: 8080 });

  // (b) The kernel lists the memberships on lan0 only: not on loopback.
  assert.deepEqual(groupMembers(server), { ipv6: ['lan0'], ipv4: ['lan0'] });
  assert.deepEqual(groupMembers(client), { ipv6: [], ipv4: [] }, 'the client joined nothing');

  // (a) IPv6: to ff12::6265:636b%eth1, answered from the server's link-local address (zoned by
  // the client's interface), advertising that address.
  assert.deepEqual(await askGroup(client, 6, 'eth1'), [
    { from: `${serverLinkLocal}%eth1`, address: serverLinkLocal },
  ]);
  // IPv4: to 239.255.98.107 out of eth1, SO_BROADCAST never set; answered by unicast.
  assert.deepEqual(await askGroup(client, 4, 'eth1', '10.15.0.20'), [
    { from: '10.15.0.10', address: '10.15.0.10' },
  ]);
  const replies = running.stdout
    .split('\n')
    .filter((line) => line.startsWith('{"reply"'))
    .map((line) => JSON.parse(line).reply.to as string);
  assert.deepEqual(replies, [`${clientLinkLocal}%lan0`, '10.15.0.20']);
  assert.deepEqual(warningsOf(running), []);
  await running.stop();
  // Closing the sockets ends the memberships.
  assert.deepEqual(groupMembers(server), { ipv6: [], ipv4: [] });
});

it('a worker-thread responder joins the groups too, and IPv6 allow CIDRs admit an off-link IPv6 sender', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { lan0: { segment: 'lan', address: '10.15.1.10/24' } } },
    client: { interfaces: { eth1: { segment: 'lan', address: '10.15.1.20/24' } } },
  });
  if (!lab) return;
  const server = lab.host('server');
  const client = lab.host('client');
  const serverLinkLocal = await server.linkLocal('lan0');
  await client.linkLocal('eth1');
  // The client's ULA is in a prefix the server does not have: off-link to the server's policy,
  // though the link carries it (a route on each side, no router).
  server.ip('addr', 'add', 'fd15:0:0:1::10/64', 'dev', 'lan0', 'nodad');
  client.ip('addr', 'add', 'fd99:0:0:2::20/64', 'dev', 'eth1', 'nodad');
  server.ip('-6', 'route', 'add', 'fd99:0:0:2::/64', 'dev', 'lan0');
  client.ip('-6', 'route', 'add', 'fd15:0:0:1::/64', 'dev', 'eth1');
  const ask = () => askGroup(client, 6, '-', 'fd99:0:0:2::20', 'fd15:0:0:1::10');

  const plain = await startResponderIn(server, { port: 9999, worker: true, offLink: 'none' });
  assert.deepEqual(groupMembers(server), { ipv6: ['lan0'], ipv4: ['lan0'] });
  assert.deepEqual(await askGroup(client, 6, 'eth1'), [
    { from: `${serverLinkLocal}%eth1`, address: serverLinkLocal },
  ]);
  assert.deepEqual(await ask(), [], "an off-link IPv6 sender is not answered with offLink 'none'");
  await plain.stop();

  const allowing = await startResponderIn(server, { port: 9999, allow: ['fd99::/16'] });
  // Answered from the address the route to the sender uses, advertising it.
  assert.deepEqual(await ask(), [{ from: 'fd15:0:0:1::10', address: 'fd15:0:0:1::10' }]);
  assert.deepEqual(warningsOf(allowing), []);
  await allowing.stop();
});
