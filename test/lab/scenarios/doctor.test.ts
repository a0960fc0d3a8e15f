import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { it } from 'node:test';
import type { DoctorReport, InterfaceReport } from '../../../src/index.js';
import { hasPython, PYTHON, requirePrerequisite } from '../../helpers/prerequisite.js';
import { discoverCli, doctorJson, originalServerAt, serve } from '../beckon.js';
import { hasCommand, type LabHost, ROOT, startLab } from '../lab.js';

const ids = (report: DoctorReport) => report.findings.map((f) => f.id);
const iface = (report: DoctorReport, name: string): InterfaceReport => {
  const found = report.interfaces.find((i) => i.name === name);
  assert.ok(found, `${name} missing from ${report.interfaces.map((i) => i.name).join(', ')}`);
  return found;
};

it('doctor: a /16 in 10.20.0.0/16 triggers the segmented check, and discover explains it once', async (t) => {
  const lab = await startLab(t, {
    office: { interfaces: { eth0: { segment: 'vlan5', address: '10.20.5.7/16' } } },
    peer: { interfaces: { eth0: { segment: 'vlan5', address: '10.20.5.8/16' } } },
  });
  if (!lab) return;
  const office = lab.host('office');
  const { report } = await doctorJson(office);
  assert.deepEqual(
    report.segmentedNetworks.map((s) => [
      s.interface,
      s.network,
      s.segments,
      s.likelyBroadcastDomain,
    ]),
    [['eth0', '10.20.0.0/16', 256, '10.20.5.0/24']],
  );
  const finding = report.findings.find((f) => f.id === 'segmented-network');
  assert.equal(finding?.severity, 'warning');
  assert.match(finding?.fix ?? '', /beckon discover --target 10\.20\.N\.0\/24/);

  const discover = await office.beckonRun(['discover', '--timeout', '0.4']);
  assert.equal(discover.status, 1);
  assert.equal(discover.stderr.match(/Segmented network/g)?.length, 1, discover.stderr);
  assert.match(discover.stderr, /10\.20\.0\.0\/16: 65536 addresses/);
  assert.match(discover.stderr, /beckon discover --target 10\.20\.N\.0\/24/);

  // The check stays quiet when something was found, and on a /24.
  await serve(lab.host('peer'), '--http-port', '8080');
  const found = await office.beckonRun(['discover', '--timeout', '0.6']);
  assert.equal(found.status, 0, found.stderr);
  assert.doesNotMatch(found.stderr, /Segmented/);
});

it('doctor: names the process holding UDP 9999 and tells beckon, the original and strangers apart', async (t) => {
  if (!requirePrerequisite(t, hasCommand('socat'), 'socat')) return;
  if (!requirePrerequisite(t, hasPython(), `Python at ${PYTHON}`)) return;
  const lab = await startLab(t, {
    host: { interfaces: { eth0: { segment: 'lan', address: '10.30.0.5/24' } } },
  });
  if (!lab) return;
  const host = lab.host('host');

  const free = await doctorJson(host, '--no-self-test');
  assert.equal(free.report.port.state, 'free');
  assert.deepEqual(free.report.port.holders, []);

  const stranger = host.spawn('socat', ['-u', 'UDP4-RECV:9999', '/dev/null']);
  await waitForBound(host, 9999);
  const held = await doctorJson(host, '--no-self-test');
  assert.equal(held.status, 1, 'a port held by a silent stranger is a problem');
  assert.equal(held.report.port.state, 'in-use');
  assert.deepEqual(
    held.report.port.holders.map((h) => [h.pid, h.command, h.address]),
    [[stranger.child.pid, 'socat -u UDP4-RECV:9999 /dev/null', '0.0.0.0']],
  );
  assert.equal(held.report.port.answers, 'nothing');
  assert.equal(held.report.port.beckon, false);
  const problem = held.report.findings.find((f) => f.id === 'port-held');
  assert.equal(problem?.severity, 'problem');
  assert.match(problem?.fix ?? '', new RegExp(`kill ${stranger.child.pid}`));
  stranger.child.kill('SIGKILL');
  await stranger.exited;

  const ours = await serve(host, '--http-port', '8080', '--name', 'web-1');
  const beckon = await doctorJson(host, '--no-self-test');
  assert.equal(beckon.report.port.answers, 'beckon');
  assert.equal(beckon.report.port.beckon, true);
  assert.equal(beckon.report.port.holders[0]?.pid, ours.child.pid);
  assert.match(beckon.report.port.holders[0]?.command ?? '', /beckon\.js serve/);
  assert.equal(beckon.report.port.holders[0]?.beckon, true);
  assert.equal(beckon.report.port.server?.metadata?.name, 'web-1');
  assert.ok(ids(beckon.report).includes('port-answers'));
  ours.child.kill('SIGTERM');
  await ours.exited;

  // Run from a clone in a folder named beckon, as `git clone` makes it: still not beckon.
  const clone = join(mkdtempSync(join(tmpdir(), 'doctor-')), 'beckon');
  t.after(() => rmSync(dirname(clone), { recursive: true, force: true }));
  mkdirSync(join(clone, 'test', 'peers'), { recursive: true });
  copyFileSync(join(ROOT, 'package.json'), join(clone, 'package.json'));
  copyFileSync(
    join(ROOT, 'test', 'peers', 'original_server.py'),
    join(clone, 'test', 'peers', 'original_server.py'),
  );
  const original = await originalServerAt(host, join(clone, 'test', 'peers', 'original_server.py'));
  const python = await doctorJson(host, '--no-self-test');
  assert.equal(python.report.port.answers, 'discovery');
  assert.equal(python.report.port.beckon, false);
  assert.equal(python.report.port.holders[0]?.pid, original.child.pid);
  assert.match(python.report.port.holders[0]?.command ?? '', /\/beckon\/test\/peers\//);
  assert.equal(python.report.port.holders[0]?.beckon, false);
});

it('doctor: reports a missing default route, and the route when there is one', async (t) => {
  const lab = await startLab(t, {
    offline: { interfaces: { eth0: { segment: 'lan', address: '10.40.0.5/24' } } },
    routed: {
      interfaces: { eth0: { segment: 'lan', address: '10.40.0.6/24' } },
      gateway: '10.40.0.1',
    },
  });
  if (!lab) return;
  const offline = await doctorJson(lab.host('offline'));
  assert.equal(offline.report.environment.defaultRoute, 'none');
  assert.ok(ids(offline.report).includes('no-default-route'));
  // Discovery itself works without one: the self-test finds its responder over eth0.
  assert.deepEqual(
    offline.report.selfTest?.results.map((r) => [r.interface, r.found]),
    [['eth0', true]],
  );

  const routed = await doctorJson(lab.host('routed'), '--no-self-test');
  assert.deepEqual(routed.report.environment.defaultRoute, {
    interface: 'eth0',
    gateway: '10.40.0.1',
  });
  assert.ok(!ids(routed.report).includes('no-default-route'));
});

it('doctor: classes a bridge named like a container network as container, and shows links Node omits', async (t) => {
  const lab = await startLab(t, {
    host: { interfaces: { eth0: { segment: 'lan', address: '10.50.0.5/24' } } },
  });
  if (!lab) return;
  const host = lab.host('host');
  // docker0 and a Compose-style br-<12 hex> bridge, each with a port up so it has carrier.
  for (const [bridge, address, port] of [
    ['docker0', '172.17.0.1/16', 'vethc1'],
    ['br-0123456789ab', '172.18.0.1/16', 'vethc2'],
  ] as const) {
    host.ip('link', 'add', bridge, 'type', 'bridge');
    host.ip('addr', 'add', address, 'dev', bridge);
    host.ip('link', 'add', port, 'type', 'veth', 'peer', 'name', `${port}p`);
    host.ip('link', 'set', port, 'master', bridge);
    for (const link of [bridge, port, `${port}p`]) host.ip('link', 'set', link, 'up');
  }
  // A link that is up but has no carrier (its peer is down), and one set down.
  host.ip('link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth1p');
  host.ip('addr', 'add', '10.60.0.5/24', 'dev', 'eth1');
  host.ip('link', 'set', 'eth1', 'up');
  host.ip('link', 'add', 'eth2', 'type', 'veth', 'peer', 'name', 'eth2p');
  host.ip('addr', 'add', '10.61.0.5/24', 'dev', 'eth2');
  await host.waitUntilUp(['docker0', 'br-0123456789ab']);

  const { report } = await doctorJson(host);
  assert.equal(iface(report, 'docker0').class, 'container');
  assert.equal(iface(report, 'br-0123456789ab').class, 'container');
  assert.equal(iface(report, 'eth0').class, 'virtual', 'a veth has no device behind it');
  assert.equal(iface(report, 'lo').class, 'loopback');
  assert.equal(iface(report, 'docker0').used, true);
  // A /16 container bridge is one software switch, not a segmented LAN.
  assert.deepEqual(report.segmentedNetworks, []);

  const noCarrier = iface(report, 'eth1');
  assert.equal(noCarrier.up, false);
  assert.equal(noCarrier.used, false);
  assert.match(noCarrier.reason ?? '', /no carrier/);
  assert.deepEqual(
    noCarrier.addresses.map((a) => a.address),
    ['10.60.0.5'],
  );
  const down = iface(report, 'eth2');
  assert.equal(down.up, false);
  assert.match(down.reason ?? '', /it is down/);
  assert.match(iface(report, 'lo').reason ?? '', /loopback/);
});

it('doctor: finds the nftables rule that drops the port, and its fix lets discovery through', async (t) => {
  if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: '10.70.0.5/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.70.0.6/24' } } },
  });
  if (!lab) return;
  const server = lab.host('server');
  server.nft(`table inet filter {
    chain input {
      type filter hook input priority 0; policy accept;
      ct state established,related accept
      udp dport 9999 counter drop
    }
  }`);
  await serve(server, '--http-port', '8080');
  const blocked = await discoverCli(lab.host('client'), '--timeout', '0.5');
  assert.equal(blocked.status, 1);

  const { report, status } = await doctorJson(server, '--no-self-test');
  assert.equal(status, 1);
  assert.equal(report.environment.firewall.verdict, 'dropped');
  const finding = report.findings.find((f) => f.id === 'firewall-drops');
  assert.match(finding?.message ?? '', /inet filter input handle \d+/);
  assert.equal(finding?.fix, 'nft insert rule inet filter input udp dport 9999 accept');

  await server.run('sh', ['-c', finding?.fix ?? 'false']);
  const after = await doctorJson(server, '--no-self-test');
  assert.equal(after.report.environment.firewall.verdict, 'accepted');
  const found = await discoverCli(lab.host('client'), '--timeout', '1');
  assert.equal(found.status, 0, found.run.stderr);
});

it('discover --trace: shows the interfaces used and skipped, each send, and what became of each reply', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: '10.80.0.5/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.80.0.6/24' } } },
  });
  if (!lab) return;
  await serve(lab.host('server'), '--http-port', '8080');
  const run = await lab.host('client').beckonRun(['discover', '--timeout', '0.8', '--trace']);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stderr, /trace \+[\d.]+ms skip lo 127\.0\.0\.1 \(loopback\): loopback/);
  assert.match(run.stderr, /use eth0 10\.80\.0\.6 \(virtual\): broadcast 10\.80\.0\.255/);
  assert.match(run.stderr, /send eth0 IPv4 10\.80\.0\.6 -> 10\.80\.0\.255:9999 15 bytes, round 1/);
  assert.match(
    run.stderr,
    /reply eth0 <- 10\.80\.0\.5:9999 \d+ bytes: accepted \(claims 10\.80\.0\.5:8080\)/,
  );
  // Retries inside the deadline get answered again: the same server, traced as a duplicate.
  assert.match(run.stderr, /reply eth0 <- 10\.80\.0\.5:9999 \d+ bytes: duplicate/);
  assert.match(run.stderr, /end: deadline, 1 found/);
  assert.match(run.stdout, /10\.80\.0\.5/);
});

/** Waits until something in `host` has UDP `port` bound (socat starts asynchronously). */
async function waitForBound(host: LabHost, port: number): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  for (let i = 0; i < 100; i++) {
    if (host.readProc('net/udp').includes(hex)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`nothing bound UDP ${port}`);
}
