/**
 * A host whose only interface is loopback (a fresh container, a namespace): discovery has no
 * interface to broadcast on, and must say that, not talk about firewalls and VLANs.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startLab } from '../lab.js';

it('on a host with only lo, "nothing found" names the skipped interface and suggests --interface lo or --target', async (t) => {
  const lab = await startLab(t, { alone: { interfaces: {} } });
  if (!lab) return;
  const host = lab.host('alone');
  assert.match(host.ip('-4', '-o', 'addr'), /^\d+: lo\s+inet 127\.0\.0\.1\/8 /);

  const run = await host.beckonRun(['discover', '--timeout', '0.5']);
  assert.equal(run.status, 1, run.stderr);
  assert.equal(run.stdout, '');
  assert.match(run.stderr, /No servers found\.\nNo interface was used, so no broadcast was sent\./);
  assert.match(run.stderr, /Skipped:\n {2}lo 127\.0\.0\.1: loopback reaches this host only/);
  assert.match(run.stderr, /To find servers on this host: beckon discover --interface lo\n/);
  assert.match(run.stderr, /To ask a server on another host: beckon discover --target <ip\|cidr>/);
  assert.doesNotMatch(run.stderr, /firewall|VLAN/);
  // Said once: the library's one-line warning is left out where the CLI explains it in full.
  assert.doesNotMatch(run.stderr, /Nothing to send to/);
  assert.equal(run.stderr.match(/loopback reaches this host only/g)?.length, 1, run.stderr);
  // With --json there is no advice, and the library's line says it in words, once.
  const json = await host.beckonRun(['discover', '--timeout', '0.5', '--json']);
  assert.equal(json.status, 1, json.stderr);
  assert.equal(
    json.stderr.trim(),
    'warning: Nothing to send to: no interface is usable (lo 127.0.0.1: loopback reaches this host only; lo (IPv6): loopback reaches this host only), and no targets given',
  );

  // A typo is a usage error that lists exactly the interfaces this host has.
  const typo = await host.beckonRun(['discover', '--interface', 'eth0', '--timeout', '0.5']);
  assert.equal(typo.status, 2, typo.stderr);
  assert.match(
    typo.stderr,
    /--interface "eth0" matches no interface that is up with an IPv4 address or IPv6 link\. Interfaces here: lo 127\.0\.0\.1\/8\.\n/,
  );

  // The advice works: with a responder on this host, --interface lo finds it.
  const server = host.beckon('serve', '--http-port', '8080');
  await server.waitFor(/Listening on/);
  const found = await host.beckonRun(['discover', '--interface', 'lo', '--timeout', '1', '--json']);
  assert.equal(found.status, 0, found.stderr);
  assert.equal(JSON.parse(found.stdout).url, 'http://127.0.0.1:8080');
  await server.stop();
});
