/**
 * Issue 15, lab scenario 1: a link with no IPv4 at all. Two hosts with only their IPv6
 * link-local addresses (the interfaces are named differently on each side, so that a zone taken
 * from the wrong host shows); `beckon serve --http-port 8080` and an HTTP server on [::]:8080 on
 * one. `beckon discover` and the library's `discover()` on the other find it through the IPv6
 * group, at its link-local address zoned with the client's interface, with an RFC 6874 url that
 * `http.get(httpRequestTarget(url))` reaches. docs/ipv6.md, "The client (built)", "URLs".
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Server } from '../../../src/index.js';
import { discoverCli, discoverLib, serve } from '../beckon.js';
import { ROOT, startLab } from '../lab.js';

it('IPv6 link-local only: discover (CLI and library) finds the server at fe80::…%<client interface>, and its url reaches the HTTP server', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { lan0: { segment: 'link', address: [] } } },
    client: { interfaces: { eth1: { segment: 'link', address: [] } } },
  });
  if (!lab) return;
  const server = lab.host('server');
  const client = lab.host('client');
  for (const host of [server, client]) {
    assert.equal(host.ip('-4', '-o', 'addr', 'show', 'scope', 'global'), '', 'no IPv4 at all');
  }
  // Both link-local addresses past duplicate address detection: a tentative one cannot send.
  const serverLinkLocal = await server.linkLocal('lan0');
  const clientLinkLocal = await client.linkLocal('eth1');

  const http = server.spawn(process.execPath, [
    '--import',
    'tsx',
    `${ROOT}test/lab/drivers/http-echo.ts`,
    '8080',
  ]);
  await http.waitFor(/ready/, 20_000);
  await serve(server, '--http-port', '8080');

  // What a result must say: the server's link-local address with the CLIENT's interface as
  // zone (eth1, not the server's lan0), and that zone written %25 in the url.
  const expectFound = (servers: Server[], how: string) => {
    assert.equal(servers.length, 1, `${how}: ${JSON.stringify(servers)}`);
    const [found] = servers as [Server];
    assert.equal(found.ip, `${serverLinkLocal}%eth1`, how);
    assert.equal(found.family, 'IPv6', how);
    assert.equal(found.port, 8080, how);
    assert.equal(found.url, `http://[${serverLinkLocal}%25eth1]:8080`, how);
    assert.equal(found.interface, 'eth1', how);
    assert.equal(found.protocol, 'plain', how);
    assert.deepEqual(
      found.addresses.map(({ rtt, ...rest }) => rest),
      [{ address: `${serverLinkLocal}%eth1`, family: 'IPv6', interface: 'eth1', via: 'multicast' }],
      how,
    );
    assert.equal(typeof found.addresses[0]?.rtt, 'number', how);
    return found;
  };

  const cli = await discoverCli(client);
  t.diagnostic(cli.run.stdout + cli.run.stderr);
  assert.equal(cli.status, 0, cli.run.stderr);
  const found = expectFound(cli.servers, 'beckon discover --json');

  // The url works with http.get through httpRequestTarget (fetch cannot take a zone at all).
  const got = await client.script('test/lab/drivers/http-get.ts', [found.url]);
  assert.equal(got.status, 0, got.stderr);
  const response = JSON.parse(got.stdout) as { status?: number; body?: string; error?: string };
  assert.equal(response.status, 200, got.stdout);
  assert.deepEqual(JSON.parse(response.body ?? '{}'), {
    app: 'lab echo',
    host: `[${serverLinkLocal}]:8080`, // the zone names a client interface: not sent
    peer: `${clientLinkLocal}%lan0`, // the server sees the client with its own zone
  });

  // The same from the library, inside the client host.
  expectFound(await discoverLib(client), 'discover()');

  // Asking over IPv4 only finds nothing: there is no IPv4 on this link.
  const ipv4Only = await discoverCli(client, '--ipv4', '--timeout', '1s');
  assert.equal(ipv4Only.status, 1, ipv4Only.run.stdout);
  assert.deepEqual(ipv4Only.servers, []);
});
