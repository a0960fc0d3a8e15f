/**
 * Issue 15, lab scenario 3: a multi-homed client and server on two separate IPv6 links (two
 * segments, link-local addresses only, no IPv4). The server's interfaces are lan0 and lan1, the
 * client's lana and lanb, so that a zone taken from the wrong host or link shows. One run finds
 * the server once, with its two link-local addresses, each zoned with the client's interface on
 * that link; `--interface lana` asks on one link only. docs/ipv6.md, "Zones", "One server,
 * several addresses", "Interface selection". Then a different ULA on each link: four addresses,
 * the ULAs first, and an IPv6 CIDR selects one link.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Server } from '../../../src/index.js';
import { discoverCli, discoverLib, serve } from '../beckon.js';
import { startLab } from '../lab.js';

it('multi-homed on two IPv6 links: one server with both link-local addresses, each zoned with the client interface of its link; --interface keeps one link', async (t) => {
  const lab = await startLab(t, {
    server: {
      interfaces: {
        lan0: { segment: 'a', address: [] },
        lan1: { segment: 'b', address: [] },
      },
    },
    client: {
      interfaces: {
        lana: { segment: 'a', address: [] },
        lanb: { segment: 'b', address: [] },
      },
    },
  });
  if (!lab) return;
  const server = lab.host('server');
  const client = lab.host('client');
  const onA = await server.linkLocal('lan0');
  const onB = await server.linkLocal('lan1');
  await client.linkLocal('lana');
  await client.linkLocal('lanb');
  assert.notEqual(onA, onB);
  await serve(server, '--http-port', '8080');

  const viaA = { address: `${onA}%lana`, family: 'IPv6', interface: 'lana' };
  const viaB = { address: `${onB}%lanb`, family: 'IPv6', interface: 'lanb' };
  const byAddress = (a: { address: string }, b: { address: string }) =>
    a.address < b.address ? -1 : 1;
  const paths = (found: Server) =>
    found.addresses.map(({ address, family, interface: iface }) => ({
      address,
      family,
      interface: iface,
    }));
  // ip, url and interface describe the same path: the first address.
  const consistent = (found: Server, how: string) => {
    const [first] = found.addresses;
    assert.ok(first, how);
    assert.equal(found.ip, first.address, how);
    assert.equal(found.interface, first.interface, how);
    assert.equal(found.url, `http://[${found.ip.replace('%', '%25')}]:8080`, how);
  };

  // The library's discover() returns the table at the deadline: one server, both links.
  const servers = await discoverLib(client);
  assert.equal(servers.length, 1, JSON.stringify(servers));
  const [found] = servers as [Server];
  // Both link-local (the same tier): the order is by RTT, by text within noise; either is fine.
  assert.deepEqual(
    paths(found).sort(byAddress),
    [viaA, viaB].sort(byAddress),
    JSON.stringify(found),
  );
  consistent(found, 'discover()');

  // The CLI's table shows the server once, the other link under ALSO AT.
  const table = await client.beckonRun(['discover']);
  t.diagnostic(table.stdout);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^Found 1 server:$/m);
  const rows = table.stdout.split('\n').filter((line) => line.includes(':8080'));
  assert.equal(rows.length, 1, table.stdout);
  assert.match(table.stdout, /ALSO AT/);
  for (const via of [viaA, viaB]) assert.ok(rows[0]?.includes(via.address), table.stdout);

  // --json prints the server once (as first heard, so with the addresses known then).
  const json = await discoverCli(client);
  assert.equal(json.status, 0, json.run.stderr);
  assert.equal(json.servers.length, 1, json.run.stdout);

  // --interface keeps one link: its address only, with that link's zone.
  for (const [iface, via] of [
    ['lana', viaA],
    ['lanb', viaB],
  ] as const) {
    const one = await discoverCli(client, '--interface', iface);
    assert.equal(one.status, 0, one.run.stderr);
    assert.equal(one.servers.length, 1, one.run.stdout);
    const [only] = one.servers as [Server];
    assert.deepEqual(paths(only), [via], `--interface ${iface}: ${one.run.stdout}`);
    consistent(only, `--interface ${iface}`);
    const lib = await discoverLib(client, { interfaces: [iface] });
    assert.deepEqual(lib.map(paths), [[via]], `interfaces: ['${iface}']`);
  }

  // A different ULA on each link: the server's ULAs join the result, each tagged with the
  // client's interface of its link, ahead of the link-local addresses; an IPv6 CIDR selects
  // the link holding such an address.
  server.ip('addr', 'add', 'fd15:0:0:a::10/64', 'dev', 'lan0', 'nodad');
  server.ip('addr', 'add', 'fd15:0:0:b::10/64', 'dev', 'lan1', 'nodad');
  client.ip('addr', 'add', 'fd15:0:0:a::20/64', 'dev', 'lana', 'nodad');
  client.ip('addr', 'add', 'fd15:0:0:b::20/64', 'dev', 'lanb', 'nodad');
  const ulaA = { address: 'fd15:0:0:a::10', family: 'IPv6', interface: 'lana' };
  const ulaB = { address: 'fd15:0:0:b::10', family: 'IPv6', interface: 'lanb' };
  const withUlas = await discoverLib(client);
  assert.equal(withUlas.length, 1, JSON.stringify(withUlas));
  const [all] = withUlas as [Server];
  assert.deepEqual(paths(all).slice(0, 2).sort(byAddress), [ulaA, ulaB], JSON.stringify(all));
  assert.deepEqual(paths(all).slice(2).sort(byAddress), [viaA, viaB].sort(byAddress));
  assert.equal(all.url, `http://[${all.ip}]:8080`);
  const linkA = await discoverLib(client, { interfaces: ['fd15:0:0:a::/64'] });
  assert.deepEqual(linkA.map(paths), [[ulaA, viaA]], JSON.stringify(linkA));
});
