/**
 * `beckon doctor` on IPv6 and multicast, in a network namespace: a link with IPv6 disabled, one
 * with addr_gen_mode none (no link-local address), a bridge that snoops multicast without being
 * a querier, an nftables ip6 table that drops the discovery port over IPv6 only, beckon's groups
 * joined on a link, and the IPv6 self-test on ::1. Each fix doctor prints is applied, and
 * doctor is asked again.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DoctorReport, InterfaceReport } from '../../../src/index.js';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { doctorJson } from '../beckon.js';
import { hasCommand, type LabHost, startLab } from '../lab.js';

const ids = (report: DoctorReport) => report.findings.map((f) => f.id);
const iface = (report: DoctorReport, name: string): InterfaceReport => {
  const found = report.interfaces.find((i) => i.name === name);
  assert.ok(found, `${name} missing from ${report.interfaces.map((i) => i.name).join(', ')}`);
  return found;
};
const finding = (report: DoctorReport, id: string, text: RegExp) => {
  const found = report.findings.filter((f) => f.id === id && text.test(f.message));
  assert.equal(found.length, 1, `one ${id} ${text} in ${JSON.stringify(report.findings, null, 1)}`);
  return found[0] as DoctorReport['findings'][number];
};

/** Polls `check` every 50 ms until it holds; throws after `timeoutMs`. */
async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Whether `link` has a link-local address that finished duplicate address detection. */
function hasLinkLocal(host: LabHost, link: string): boolean {
  return host
    .readProc('net/if_inet6')
    .split('\n')
    .some((line) => {
      const [hex, , , , flags, name] = line.trim().split(/\s+/);
      return (
        name === link && hex?.startsWith('fe80') && (Number.parseInt(flags ?? '0', 16) & 0x48) === 0
      );
    });
}

it('doctor: explains IPv6 off on a link, no link-local address, a bridge without querier and an IPv6-only firewall drop', async (t) => {
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  const lab = await startLab(t, {
    host: { interfaces: { eth0: { segment: 'lan', address: '10.91.0.5/24' } } },
  });
  if (!lab) return;
  const host = lab.host('host');
  // dis0: IPv6 disabled on the link only.
  host.ip('link', 'add', 'dis0', 'type', 'veth', 'peer', 'name', 'dis0p');
  host.writeProc('sys/net/ipv6/conf/dis0/disable_ipv6', '1');
  // nll0: makes no link-local address.
  host.ip('link', 'add', 'nll0', 'type', 'veth', 'peer', 'name', 'nll0p');
  host.ip('link', 'set', 'nll0', 'addrgenmode', 'none');
  // br9: snooping on, querier off (the kernel's defaults, spelt out), with one port up.
  host.ip('link', 'add', 'br9', 'type', 'bridge', 'mcast_snooping', '1', 'mcast_querier', '0');
  host.ip('link', 'add', 'brp0', 'type', 'veth', 'peer', 'name', 'brp0p');
  host.ip('link', 'set', 'brp0', 'master', 'br9');
  for (const link of ['dis0', 'dis0p', 'nll0', 'nll0p', 'br9', 'brp0', 'brp0p'])
    host.ip('link', 'set', link, 'up');
  // Over IPv6 only: an ip6 table; the IPv4 path stays open.
  host.nft(`table ip6 filter6 {
    chain input {
      type filter hook input priority 0; policy accept;
      udp dport 9999 counter drop
    }
  }`);
  await host.waitUntilUp(['dis0', 'nll0', 'br9']);
  await until('link-local addresses after DAD', () =>
    ['eth0', 'br9', 'dis0p', 'nll0p'].every((link) => hasLinkLocal(host, link)),
  );

  const { report, status } = await doctorJson(host, '--no-self-test');
  assert.equal(status, 0, 'IPv6 failures are warnings: IPv4 discovery still works');
  assert.equal(report.environment.ipv6, 'on');

  assert.equal(iface(report, 'dis0').ipv6.disabled, true);
  assert.deepEqual(iface(report, 'dis0').ipv6.addresses, []);
  const disabled = finding(report, 'ipv6-disabled', /^IPv6 is disabled on dis0/);
  assert.equal(disabled.severity, 'warning');

  assert.equal(iface(report, 'nll0').ipv6.addrGenMode, 'none');
  assert.deepEqual(iface(report, 'nll0').ipv6.addresses, []);
  const noLinkLocal = finding(report, 'no-link-local', /^nll0 has no link-local address/);
  assert.match(noLinkLocal.message, /addr_gen_mode is none/);

  assert.deepEqual(iface(report, 'br9').bridge, { snooping: true, querier: false });
  const snooping = finding(report, 'snooping-without-querier', /^br9 is a bridge/);
  assert.equal(snooping.severity, 'warning');

  const eth0 = iface(report, 'eth0');
  assert.equal(eth0.ipv6.disabled, false);
  assert.equal(eth0.ipv6.addresses[0]?.kind, 'link-local');
  assert.match(eth0.ipv6.addresses[0]?.address ?? '', /^fe80::[0-9a-f:]+%eth0$/);
  assert.deepEqual(eth0.groups, [], 'nothing joined beckon groups yet');
  assert.ok(!report.findings.some((f) => f.message.startsWith('eth0')), 'eth0 is fine');

  assert.equal(report.environment.firewall.verdict, 'accepted');
  assert.equal(report.environment.firewall6?.verdict, 'dropped');
  const firewall = finding(
    report,
    'firewall-drops-ipv6',
    /over IPv6 only: ip6 filter6 input handle \d+/,
  );
  assert.equal(firewall.fix, 'nft insert rule ip6 filter6 input udp dport 9999 accept');

  // Each fix, as printed, makes its finding go away.
  for (const fix of [disabled.fix, noLinkLocal.fix, snooping.fix, firewall.fix]) {
    const command = (fix ?? 'false').replace(/ \(.*$/, ''); // the command, not the note after it
    const run = await host.run('sh', ['-c', command]);
    assert.equal(run.status, 0, `${command}: ${run.stderr}`);
  }
  await until('link-local addresses on dis0 and nll0', () =>
    ['dis0', 'nll0'].every((link) => hasLinkLocal(host, link)),
  );
  const after = await doctorJson(host, '--no-self-test');
  for (const id of [
    'ipv6-disabled',
    'no-link-local',
    'snooping-without-querier',
    'firewall-drops-ipv6',
  ])
    assert.ok(!ids(after.report).includes(id), `${id} still in ${ids(after.report)}`);
  assert.equal(after.report.environment.firewall6?.verdict, 'accepted');
  assert.deepEqual(iface(after.report, 'br9').bridge, { snooping: true, querier: true });
});

it("doctor: shows beckon's groups joined on a link, and the IPv6 self-test on ::1", async (t) => {
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  const lab = await startLab(t, {
    host: { interfaces: { eth0: { segment: 'lan', address: '10.92.0.5/24' } } },
  });
  if (!lab) return;
  const host = lab.host('host');
  await until('a link-local address on eth0', () => hasLinkLocal(host, 'eth0'));
  // What a responder does (docs/ipv6.md): join the IPv6 group on eth0, the IPv4 one on its address.
  const joiner = host.spawn(process.execPath, [
    '-e',
    `const dgram = require('node:dgram');
     const six = dgram.createSocket({ type: 'udp6', reuseAddr: true });
     six.bind(0, () => six.addMembership('ff12::6265:636b', '::%eth0'));
     const four = dgram.createSocket({ type: 'udp4', reuseAddr: true });
     four.bind(0, () => four.addMembership('239.255.98.107', '10.92.0.5'));
     setTimeout(() => process.exit(0), 60_000);`,
  ]);
  await until('the joins', () => {
    const v6 = host.readProc('net/igmp6').includes('ff12000000000000000000006265636b');
    return v6 && host.readProc('net/igmp').includes('6B62FFEF');
  });
  const joined = await doctorJson(host);
  assert.deepEqual(iface(joined.report, 'eth0').groups, ['ff12::6265:636b', '239.255.98.107']);
  assert.deepEqual(iface(joined.report, 'lo').groups, []);
  // The self-test: over eth0 (IPv4 broadcast) and from ::1 to ::1.
  assert.deepEqual(
    joined.report.selfTest?.results.map((r) => [r.interface, r.found]),
    [['eth0', true]],
  );
  assert.equal(joined.report.selfTest?.loopback6?.address, '::1');
  assert.equal(joined.report.selfTest?.loopback6?.found, true);
  assert.ok(!ids(joined.report).includes('self-test-ipv6-failed'));
  joiner.child.kill('SIGKILL');
  await joiner.exited;

  // A firewall that drops IPv6 UDP on loopback: the ::1 round trip fails, IPv4 still works.
  host.nft(`table ip6 lo6 {
    chain input {
      type filter hook input priority 0; policy accept;
      iifname "lo" meta l4proto udp drop
    }
  }`);
  const blocked = await doctorJson(host);
  assert.equal(blocked.report.selfTest?.loopback6?.found, false);
  assert.equal(blocked.report.selfTest?.results[0]?.found, true);
  const failed = finding(blocked.report, 'self-test-ipv6-failed', /::1 to ::1/);
  assert.equal(failed.severity, 'warning');
  // No IPv6 on the host: no ::1 test, one ipv6-off finding instead of per-link ones.
  host.writeProc('sys/net/ipv6/conf/all/disable_ipv6', '1');
  const off = await doctorJson(host);
  assert.equal(off.report.environment.ipv6, 'disabled');
  assert.equal(off.report.selfTest?.loopback6, undefined);
  assert.equal(off.report.environment.firewall6, undefined);
  assert.equal(finding(off.report, 'ipv6-off', /disable_ipv6 = 1/).severity, 'warning');
  assert.ok(iface(off.report, 'eth0').ipv6.disabled);
  assert.ok(!ids(off.report).includes('ipv6-disabled'));
});
