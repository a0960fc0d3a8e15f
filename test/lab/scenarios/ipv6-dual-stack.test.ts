/**
 * Issue 15, lab scenario 2: a dual-stack link (IPv4 /24, an IPv6 ULA /64 and link-local on
 * both hosts). The server answers over IPv4 broadcast, the IPv4 group and the IPv6 group (from
 * the client's link-local address and from its ULA): one result, with all three of its
 * addresses, `ip` by the documented preference (IPv4 and the ULA share the same-prefix tier,
 * link-local comes last); `--ipv4` / `--ipv6` keep one family. docs/ipv6.md, "One server,
 * several addresses", "The client (built)".
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Server } from '../../../src/index.js';
import { discoverCli, discoverLib, serve } from '../beckon.js';
import { ROOT, startLab } from '../lab.js';

it('dual stack: the server is found once with its IPv4, ULA and link-local addresses; ip is never the link-local one; --ipv4 and --ipv6 keep one family', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { lan0: { segment: 'link', address: '10.15.2.10/24' } } },
    client: { interfaces: { eth1: { segment: 'link', address: '10.15.2.20/24' } } },
  });
  if (!lab) return;
  const server = lab.host('server');
  const client = lab.host('client');
  server.ip('addr', 'add', 'fd15:0:0:2::10/64', 'dev', 'lan0', 'nodad');
  client.ip('addr', 'add', 'fd15:0:0:2::20/64', 'dev', 'eth1', 'nodad');
  const serverLinkLocal = await server.linkLocal('lan0');
  await client.linkLocal('eth1');
  const http = server.spawn(process.execPath, [
    '--import',
    'tsx',
    `${ROOT}test/lab/drivers/http-echo.ts`,
    '8080',
  ]);
  await http.waitFor(/ready/, 20_000);
  await serve(server, '--http-port', '8080');

  const ipv4 = { address: '10.15.2.10', family: 'IPv4', interface: 'eth1' };
  const ula = { address: 'fd15:0:0:2::10', family: 'IPv6', interface: 'eth1' };
  const linkLocal = { address: `${serverLinkLocal}%eth1`, family: 'IPv6', interface: 'eth1' };
  const paths = (found: Server) =>
    found.addresses.map(({ address, family, interface: iface }) => ({
      address,
      family,
      interface: iface,
    }));
  const byAddress = (a: { address: string }, b: { address: string }) =>
    a.address < b.address ? -1 : 1;
  const only = (servers: Server[], how: string): Server => {
    assert.equal(servers.length, 1, `${how}: ${JSON.stringify(servers)}`);
    return servers[0] as Server;
  };
  // ip, family and url describe the first address.
  const consistent = (found: Server, how: string) => {
    const [first] = found.addresses;
    assert.ok(first, how);
    assert.equal(found.ip, first.address, how);
    assert.equal(found.family, first.family, how);
    const host = first.family === 'IPv6' ? `[${first.address}]` : first.address;
    assert.equal(found.url, `http://${host}:8080`, how);
  };

  // The library: one result with every address, link-local last.
  const both = only(await discoverLib(client), 'discover()');
  assert.deepEqual(
    paths(both).sort(byAddress),
    [ipv4, ula, linkLocal].sort(byAddress),
    JSON.stringify(both),
  );
  assert.deepEqual(paths(both)[2], linkLocal, 'link-local is the last tier');
  // IPv4 and the ULA are both on the client's own prefixes: the RTT decides, IPv4 within noise.
  assert.ok([ipv4.address, ula.address].includes(both.ip), both.ip);
  consistent(both, 'discover()');

  // The CLI: --json prints the server once; the table shows one row with the others ALSO AT.
  const json = await discoverCli(client);
  assert.equal(json.status, 0, json.run.stderr);
  only(json.servers, 'beckon discover --json');
  const table = await client.beckonRun(['discover']);
  t.diagnostic(table.stdout);
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /^Found 1 server:$/m);
  assert.match(table.stdout, /^IP +PORT +URL +INTERFACE +RTT +VIA +ALSO AT$/m);
  const rows = table.stdout.split('\n').filter((line) => line.includes(':8080'));
  assert.equal(rows.length, 1, table.stdout);
  for (const { address } of [ipv4, ula, linkLocal]) {
    assert.ok(rows[0]?.includes(address), `${address} missing:\n${table.stdout}`);
  }

  // --ipv4: the IPv4 address only.
  const v4 = only(await discoverLib(client, { family: 'IPv4' }), "family: 'IPv4'");
  assert.deepEqual(paths(v4), [ipv4]);
  consistent(v4, "family: 'IPv4'");
  const v4Cli = await discoverCli(client, '--ipv4');
  assert.deepEqual(paths(only(v4Cli.servers, '--ipv4 --json')), [ipv4]);
  const v4Table = await client.beckonRun(['discover', '--ipv4']);
  assert.equal(v4Table.status, 0, v4Table.stderr);
  assert.doesNotMatch(v4Table.stdout, /ALSO AT|fd15|fe80/, v4Table.stdout);
  assert.match(v4Table.stdout, /^10\.15\.2\.10 +8080 +http:\/\/10\.15\.2\.10:8080 +eth1 /m);

  // --ipv6: the ULA (same prefix) first, then link-local; a url that fetch can use.
  const v6 = only(await discoverLib(client, { family: 'IPv6' }), "family: 'IPv6'");
  assert.deepEqual(paths(v6), [ula, linkLocal], JSON.stringify(v6));
  consistent(v6, "family: 'IPv6'");
  const v6Cli = await discoverCli(client, '--ipv6');
  const v6Found = only(v6Cli.servers, '--ipv6 --json');
  assert.ok(v6Found.addresses.length > 0);
  for (const a of v6Found.addresses) assert.equal(a.family, 'IPv6', JSON.stringify(v6Found));
  const v6Table = await client.beckonRun(['discover', '--ipv6']);
  assert.equal(v6Table.status, 0, v6Table.stderr);
  assert.doesNotMatch(v6Table.stdout, /10\.15\.2\.10/, v6Table.stdout);
  const v6Row = new RegExp(
    `^fd15:0:0:2::10 +8080 +http://\\[fd15:0:0:2::10\\]:8080 +eth1 +\\S+ ms +multicast +${serverLinkLocal}%eth1$`,
    'm',
  );
  assert.match(v6Table.stdout, v6Row);
  const fetched = await client.run(process.execPath, [
    '-e',
    `fetch(${JSON.stringify(v6.url)}).then(async (r) => console.log(r.status, (await r.json()).app))`,
  ]);
  assert.equal(fetched.stdout, '200 lab echo\n', fetched.stderr);
});
