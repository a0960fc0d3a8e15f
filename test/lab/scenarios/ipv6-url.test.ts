/**
 * What Node 20's fetch (undici) and http.get do with a zoned link-local address, measured on a
 * link with no IPv4 at all (two namespaces, IPv6 link-local only, plus a ULA added later), and
 * that beckon's IPv6 group reaches a server that joined it. docs/ipv6.md ("What Node can
 * reach") states these results; this test fails when a Node upgrade changes any of them.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { it } from 'node:test';
import { startLab } from '../lab.js';

interface Attempt {
  name: string;
  ok: boolean;
  status?: number;
  body?: string;
  code?: string;
  causeCode?: string;
  message?: string;
}

it('IPv6 link-local only: http.get reaches a zoned address, fetch and new URL() cannot; fetch reaches a ULA; the group answers', async (t) => {
  // Different interface names on each side, so that a zone taken from the wrong host shows.
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
  const serverLinkLocal = await server.linkLocal('lan0');
  const clientLinkLocal = await client.linkLocal('eth1');
  server.ip('addr', 'add', 'fd15:0:0:1::10/64', 'dev', 'lan0', 'nodad');
  client.ip('addr', 'add', 'fd15:0:0:1::20/64', 'dev', 'eth1', 'nodad');

  const running = server.spawn(process.execPath, [
    '--import',
    'tsx',
    'test/lab/drivers/ipv6-server.ts',
    '8080',
    'lan0',
  ]);
  await running.waitFor(/ready/, 20_000);

  // The join is real: the kernel lists the group on lan0 (what `beckon doctor` can read), and the
  // lab's bridge (multicast snooping on by default, no querier) learned it from the MLD report,
  // on one port only. The switch namespace is named by lab.ts: `<lab id>.switch`.
  assert.match(server.readProc('net/igmp6'), /^\d+\s+lan0\s+ff12000000000000000000006265636b\s/m);
  const groupPorts = async () => {
    for (let waited = 0; ; waited += 100) {
      const mdb = execFileSync('bridge', ['-n', `${lab.id}.switch`, 'mdb', 'show'], {
        encoding: 'utf8',
      });
      const ports = [...mdb.matchAll(/port (\S+) grp ff12::6265:636b\b/g)].map((m) => m[1]);
      if (ports.length > 0 || waited > 5000) return ports;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };
  assert.equal((await groupPorts()).length, 1);

  const probe = await client.script(
    'test/lab/drivers/ipv6-probe.ts',
    [serverLinkLocal, 'eth1', 'fd15:0:0:1::10', '8080'],
    { timeoutMs: 90_000 },
  );
  assert.equal(probe.status, 0, probe.stderr);
  t.diagnostic(`node ${process.version}`);
  for (const line of probe.stdout.trim().split('\n')) t.diagnostic(line);
  const results = new Map(
    probe.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Attempt)
      .map((a) => [a.name, a]),
  );
  const attempt = (name: string): Attempt => {
    const found = results.get(name);
    assert.ok(found, `no attempt "${name}" in:\n${probe.stdout}`);
    return found;
  };
  const seen = (name: string) => JSON.parse(attempt(name).body ?? '{}') as Record<string, string>;
  const fails = (name: string, code: string | undefined, causeCode?: string) => {
    const a = attempt(name);
    assert.equal(a.ok, false, `${name} worked: ${JSON.stringify(a)}`);
    assert.equal(a.code, code, `${name}: ${JSON.stringify(a)}`);
    if (causeCode) assert.equal(a.causeCode, causeCode, `${name}: ${JSON.stringify(a)}`);
  };

  // fetch and the WHATWG URL parser refuse any zone, RFC 6874 (%25) or raw.
  fails('fetch zoned %25', undefined, 'ERR_INVALID_URL');
  fails('fetch zoned raw %', undefined, 'ERR_INVALID_URL');
  fails('fetch numeric zone %25<index>', undefined, 'ERR_INVALID_URL');
  fails('new URL zoned', 'ERR_INVALID_URL');
  fails('http.get zoned URL string', 'ERR_INVALID_URL');
  // Without a zone the kernel cannot pick the link: connect() fails.
  fails('fetch unzoned link-local', undefined, 'EINVAL');
  fails('http.get host unzoned', 'EINVAL');
  // On Linux the zone must be the interface name: a number, or %25, is not understood.
  fails('http.get host numeric zone', 'EINVAL');
  assert.match(attempt('http.get host numeric zone').message ?? '', /%[1-9]\d*:8080/);
  fails('http.get host %25 zone', 'EINVAL');
  // Brackets make it a host name to resolve.
  fails('http.get host bracketed', 'ENOTFOUND');

  // http.get with the address and a raw %zone as host (or hostname) works...
  for (const name of ['http.get host name zone', 'http.get hostname name zone']) {
    assert.equal(attempt(name).status, 200, JSON.stringify(attempt(name)));
    // ...but Node sends the zone in the Host header, which the server (another host) gets.
    assert.equal(seen(name).host, `[${serverLinkLocal}%eth1]:8080`);
    assert.equal(seen(name).peer, `${clientLinkLocal}%lan0`, 'the server sees its own zone');
  }
  // beckon's helper turns the RFC 6874 URL into options that work, with a zone-free Host.
  const helper = 'http.get httpRequestTarget(serverUrl())';
  assert.equal(attempt(helper).status, 200, JSON.stringify(attempt(helper)));
  assert.equal(seen(helper).host, `[${serverLinkLocal}]:8080`);

  // A routable (ULA) address works with fetch: the reason the preference puts it first.
  assert.equal(attempt('fetch ULA').status, 200, JSON.stringify(attempt('fetch ULA')));
  assert.equal(seen('fetch ULA').peer, 'fd15:0:0:1::20');

  // UDP to ff12::6265:636b%eth1 reaches the server that joined it on lan0; the answer comes from
  // its link-local address, zoned with the client's interface.
  const udp = attempt('udp6 send to group%zone');
  assert.equal(udp.ok, true, JSON.stringify(udp));
  assert.deepEqual(JSON.parse(udp.body ?? '{}'), {
    from: `${serverLinkLocal}%eth1`,
    said: `pong ${clientLinkLocal}%lan0`,
  });
});
