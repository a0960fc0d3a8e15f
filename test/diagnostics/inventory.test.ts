import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type DoctorReport, diagnose, type Finding } from '../../src/diagnostics/doctor.js';
import {
  type InterfaceReport,
  type InventorySources,
  inventoryInterfaces,
} from '../../src/diagnostics/inventory.js';
import { detectSegmentedNetwork } from '../../src/diagnostics/segmented.js';
import { describeAddress } from '../../src/network/interfaces.js';
import type { LinkFacts } from '../../src/network/link-facts.js';
import { compileInterfacePattern } from '../../src/network/select.js';

// ---------------------------------------------------------------- inventory

const FACTS: Record<string, LinkFacts> = {
  lo: { type: 772, adminUp: true, operstate: 'unknown', carrier: true },
  eth0: { type: 1, hardware: true, adminUp: true, operstate: 'up', carrier: true },
  eth1: { type: 1, hardware: true, adminUp: false, operstate: 'down' },
  eth2: { type: 1, hardware: true, adminUp: true, operstate: 'up', carrier: true },
  enp5s0: {
    type: 1,
    hardware: true,
    adminUp: true,
    carrier: false,
    operstate: 'lowerlayerdown',
  },
  br0: {
    type: 1,
    hardware: false,
    devtype: 'bridge',
    adminUp: true,
    carrier: true,
    operstate: 'up',
  },
  docker0: { type: 1, hardware: false, devtype: 'bridge', adminUp: true, operstate: 'up' },
  tun0: { type: 65534, tun: true, adminUp: true, operstate: 'unknown', carrier: true },
};
const facts = (name: string): LinkFacts => FACTS[name] ?? {};
const running = (name: string, address: string, prefix: number) =>
  describeAddress(name, address, prefix, true, facts(name));

const SOURCES: InventorySources = {
  interfaces: () => [
    running('lo', '127.0.0.1', 8),
    running('eth0', '192.168.1.10', 24),
    running('tun0', '10.8.0.6', 32),
    running('eth2', '192.168.1.10', 24),
    running('docker0', '172.17.0.1', 16),
  ],
  linkNames: () => ['br0', 'docker0', 'enp5s0', 'eth0', 'eth1', 'eth2', 'lo', 'tun0'],
  linkAddresses: [
    { name: 'eth1', address: '192.168.50.2', prefix: 24 },
    { name: 'eth0', address: '192.168.1.10', prefix: 24 }, // running: listed once, from Node
  ],
  linkFacts: facts,
};

const patterns = (option: string, list: readonly string[]) =>
  list.map((pattern) => compileInterfacePattern(option, pattern));

function inventory(include: readonly string[] = [], exclude: readonly string[] = []) {
  const reports = inventoryInterfaces(
    SOURCES,
    patterns('interfaces', include),
    patterns('exclude', exclude),
  );
  const byName = (name: string): InterfaceReport => {
    const report = reports.find((r) => r.name === name);
    assert.ok(report, `${name} is in the inventory`);
    return report;
  };
  return { reports, byName };
}

describe('inventoryInterfaces', () => {
  it('lists every link once: running ones first, then the others', () => {
    const { reports } = inventory();
    assert.deepEqual(
      reports.map((r) => r.name),
      ['lo', 'eth0', 'tun0', 'eth2', 'docker0', 'br0', 'enp5s0', 'eth1'],
    );
  });

  it('marks a used interface used, with no reason', () => {
    // No IPv6 sources given: nothing is known about IPv6 (test/diagnostics/ipv6.test.ts).
    assert.deepEqual(inventory().byName('eth0'), { ...USED_ETH0, ...NO_IPV6 });
  });

  it('says why loopback is not used', () => {
    const lo = inventory().byName('lo');
    assert.equal(lo.class, 'loopback');
    assert.equal(lo.used, false);
    assert.equal(lo.addresses[0]?.skipped, 'loopback');
    assert.match(lo.reason ?? '', /loopback/);
    // named by an include pattern, it is used
    assert.equal(inventory(['lo']).byName('lo').used, true);
  });

  it('shows a down link with the address ip reports, and how to bring it up', () => {
    const eth1 = inventory().byName('eth1');
    assert.equal(eth1.up, false);
    assert.equal(eth1.used, false);
    assert.equal(eth1.state, 'down');
    assert.equal(eth1.class, 'physical');
    assert.deepEqual(
      eth1.addresses.map((a) => [a.address, a.used, a.skipped]),
      [['192.168.50.2', false, 'down']],
    );
    assert.match(eth1.reason ?? '', /down/);
    assert.match(eth1.reason ?? '', /ip link set/);
  });

  it('says a link without carrier has no carrier', () => {
    const enp5s0 = inventory().byName('enp5s0');
    assert.equal(enp5s0.up, false);
    assert.equal(enp5s0.state, 'lowerlayerdown');
    assert.deepEqual(enp5s0.addresses, []);
    assert.match(enp5s0.reason ?? '', /carrier/);
    assert.doesNotMatch(enp5s0.reason ?? '', /ip link set/);
  });

  it('says an up link without an address has no IPv4 address', () => {
    const br0 = inventory().byName('br0');
    assert.equal(br0.up, true);
    assert.equal(br0.class, 'virtual');
    assert.deepEqual(br0.addresses, []);
    assert.equal(br0.reason, 'it has no IPv4 address');
  });

  it('says an excluded interface is excluded, and one no include pattern names is not included', () => {
    const excluded = inventory([], ['docker*']).byName('docker0');
    assert.equal(excluded.class, 'container');
    assert.equal(excluded.addresses[0]?.skipped, 'excluded');
    assert.match(excluded.reason ?? '', /exclude/);
    // without the exclude pattern docker0 is used
    assert.equal(inventory().byName('docker0').used, true);
    const onlyEth = inventory(['eth*']);
    assert.equal(onlyEth.byName('eth0').used, true);
    assert.equal(onlyEth.byName('docker0').addresses[0]?.skipped, 'not-included');
    assert.match(onlyEth.byName('docker0').reason ?? '', /no include pattern/);
    assert.equal(onlyEth.byName('lo').addresses[0]?.skipped, 'not-included');
  });

  it('says a /32 has no broadcast address', () => {
    const tun0 = inventory().byName('tun0');
    assert.equal(tun0.class, 'vpn');
    assert.equal(tun0.addresses[0]?.broadcast, undefined);
    assert.equal(tun0.addresses[0]?.skipped, 'no-broadcast');
    assert.match(tun0.reason ?? '', /\/32/);
  });

  it('uses an address once: a second interface with it is skipped as same-address', () => {
    const { byName } = inventory();
    assert.equal(byName('eth0').used, true);
    assert.equal(byName('eth2').addresses[0]?.skipped, 'same-address');
    assert.match(byName('eth2').reason ?? '', /same address/);
    // a CIDR include pattern matching both keeps the same decision
    const cidr = inventory(['192.168.1.0/24']);
    assert.equal(cidr.byName('eth0').used, true);
    assert.equal(cidr.byName('eth2').addresses[0]?.skipped, 'same-address');
  });
});

// ---------------------------------------------------------------- diagnose

type Report = Omit<DoctorReport, 'findings'>;

const USED_ETH0: InterfaceReport = {
  name: 'eth0',
  class: 'physical',
  up: true,
  state: 'up',
  addresses: [
    {
      address: '192.168.1.10',
      prefix: 24,
      netmask: '255.255.255.0',
      broadcast: '192.168.1.255',
      used: true,
      skipped: undefined,
    },
  ],
  used: true,
  reason: undefined,
  ipv6: {
    disabled: false,
    addrGenMode: 'eui64',
    addresses: [{ address: 'fe80::1%eth0', prefix: 64, kind: 'link-local', state: 'usable' }],
  },
  groups: [],
  bridge: undefined,
};

/** The IPv6 part of a link nothing is known about. */
const NO_IPV6 = {
  ipv6: { disabled: undefined, addrGenMode: undefined, addresses: [] },
  groups: undefined,
  bridge: undefined,
} as const;

/** A host where everything is fine; each test changes one part of it. */
function healthy(change: Partial<Report> = {}, environment: Partial<Report['environment']> = {}) {
  const report: Report = {
    schema: 1,
    interfaces: [USED_ETH0],
    port: {
      port: 9999,
      state: 'free',
      sockets: [],
      holders: [],
      answers: undefined,
      beckon: false,
      server: undefined,
    },
    selfTest: {
      port: 40000,
      results: [
        { interface: 'eth0', address: '192.168.1.10', found: true, rttMs: 0.4, dropped: undefined },
      ],
      loopback6: { interface: 'lo', address: '::1', found: true, rttMs: 0.2, dropped: undefined },
      error: undefined,
    },
    environment: {
      container: { inContainer: false, evidence: undefined },
      wsl: { inWsl: false, version: undefined, mode: undefined },
      vpn: [],
      defaultRoute: { interface: 'eth0', gateway: '192.168.1.1' },
      firewall: {
        tool: 'nftables',
        verdict: 'accepted',
        where: undefined,
        conditions: [],
        fix: undefined,
      },
      ipv6: 'on',
      firewall6: {
        tool: 'nftables',
        verdict: 'accepted',
        where: undefined,
        conditions: [],
        fix: undefined,
      },
      ...environment,
    },
    segmentedNetworks: [],
    ...change,
  };
  return report;
}

const ids = (findings: readonly Finding[]) => findings.map((f) => `${f.id} ${f.severity}`);
const only = (findings: readonly Finding[], id: string): Finding => {
  const matching = findings.filter((f) => f.id === id);
  assert.equal(matching.length, 1, `one ${id} in ${JSON.stringify(ids(findings))}`);
  return matching[0] as Finding;
};

describe('diagnose', () => {
  it('finds nothing on a healthy host', () => {
    assert.deepEqual(diagnose(healthy()), []);
  });

  it('reports no usable interface as a problem', () => {
    const unused: InterfaceReport = {
      ...USED_ETH0,
      used: false,
      reason: 'an exclude pattern matches it',
      addresses: [
        {
          ...(USED_ETH0.addresses[0] as InterfaceReport['addresses'][0]),
          used: false,
          skipped: 'excluded',
        },
      ],
    };
    assert.deepEqual(ids(diagnose(healthy({ interfaces: [unused] }))), [
      'no-usable-interface problem',
    ]);
    assert.deepEqual(ids(diagnose(healthy({ interfaces: [] }))), ['no-usable-interface problem']);
  });

  it('reports a port held by a silent process as a problem, with kill <pid>', () => {
    const held = healthy({
      port: {
        port: 9999,
        state: 'in-use',
        sockets: [{ address: '0.0.0.0', family: 'IPv4', inode: 123, uid: 1000 }],
        holders: [
          {
            pid: 4242,
            command: 'python3 game-server.py',
            uid: 1000,
            address: '0.0.0.0',
            beckon: false,
          },
        ],
        answers: 'nothing',
        beckon: false,
        server: undefined,
      },
    });
    const finding = only(diagnose(held), 'port-held');
    assert.equal(finding.severity, 'problem');
    assert.match(finding.fix ?? '', /kill 4242/);
    assert.match(finding.message, /PID 4242 \(python3 game-server\.py\)/);
    assert.match(finding.message, /9999/);
  });

  it('reports a silent beckon holder as a warning, and an unnamed holder without a fix', () => {
    const port: Report['port'] = {
      port: 9999,
      state: 'in-use',
      sockets: [],
      holders: [
        {
          pid: 77,
          command: 'node beckon serve --auth-key x',
          uid: 0,
          address: '0.0.0.0',
          beckon: true,
        },
      ],
      answers: 'nothing',
      beckon: true,
      server: undefined,
    };
    assert.equal(only(diagnose(healthy({ port })), 'port-held').severity, 'warning');
    const unseen = only(
      diagnose(healthy({ port: { ...port, holders: [], beckon: false } })),
      'port-held',
    );
    assert.equal(unseen.severity, 'problem');
    assert.equal(unseen.fix, undefined);
    assert.match(unseen.message, /root/);
    // One that listens on the host channel shares the port: the host's other services register.
    const sharing = only(diagnose(healthy({ port: { ...port, shares: true } })), 'port-answers');
    assert.equal(sharing.severity, 'info');
    assert.match(sharing.message, /other beckon services too \(they register with it\)/);
  });

  it('reports a holder that answers as info', () => {
    const answering = healthy({
      port: {
        port: 9999,
        state: 'in-use',
        sockets: [],
        holders: [
          {
            pid: 99,
            command: 'python3 manage.py runserver',
            uid: 1000,
            address: '0.0.0.0',
            beckon: false,
          },
        ],
        answers: 'discovery',
        beckon: false,
        server: undefined,
      },
    });
    assert.deepEqual(ids(diagnose(answering)), ['port-answers info']);
  });

  it('reports a privileged port as a problem', () => {
    const forbidden = healthy({ port: { ...healthy().port, port: 99, state: 'forbidden' } });
    assert.deepEqual(ids(diagnose(forbidden)), ['port-forbidden problem']);
  });

  it('reports a firewall that drops the port, with its fix', () => {
    const fix = 'nft insert rule inet filter input udp dport 9999 accept';
    const findings = diagnose(
      healthy(
        {},
        {
          firewall: {
            tool: 'nftables',
            verdict: 'dropped',
            where: 'inet filter input handle 7',
            conditions: [],
            fix,
          },
        },
      ),
    );
    const finding = only(findings, 'firewall-drops');
    assert.equal(finding.severity, 'problem');
    assert.equal(finding.fix, fix);
    assert.match(finding.message, /inet filter input handle 7/);
  });

  it('reports a firewall that may drop as a warning, and an unread one as info', () => {
    const mayDrop = diagnose(
      healthy(
        {},
        {
          firewall: {
            tool: 'iptables',
            verdict: 'may-drop',
            where: '-A INPUT -i eth1 -j DROP',
            conditions: ['arriving on eth1'],
            fix: 'iptables -I INPUT -p udp --dport 9999 -j ACCEPT',
          },
        },
      ),
    );
    const finding = only(mayDrop, 'firewall-may-drop');
    assert.equal(finding.severity, 'warning');
    assert.match(finding.message, /arriving on eth1/);
    const unknown = diagnose(
      healthy({}, { firewall: { tool: 'none', verdict: 'unknown', why: 'permission denied' } }),
    );
    assert.deepEqual(ids(unknown), ['firewall-unknown info']);
  });

  it('reports a failed self-test, and one that could not run', () => {
    const failed = healthy({
      selfTest: {
        port: 40000,
        results: [
          {
            interface: 'eth0',
            address: '192.168.1.10',
            found: false,
            rttMs: undefined,
            dropped: 'rate-limited',
          },
        ],
        loopback6: undefined,
        error: undefined,
      },
    });
    const finding = only(diagnose(failed), 'self-test-failed');
    assert.equal(finding.severity, 'problem');
    assert.match(finding.message, /eth0/);
    assert.match(finding.message, /rate-limited/);
    const broken = healthy({
      selfTest: { port: undefined, results: [], loopback6: undefined, error: 'EADDRINUSE' },
    });
    assert.match(only(diagnose(broken), 'self-test-failed').message, /EADDRINUSE/);
    // skipped self-test: nothing to say
    assert.deepEqual(diagnose(healthy({ selfTest: undefined })), []);
  });

  it('reports WSL NAT mode as a problem and mirrored mode as info', () => {
    assert.deepEqual(
      ids(diagnose(healthy({}, { wsl: { inWsl: true, version: 2, mode: 'nat' } }))),
      ['wsl-nat problem'],
    );
    assert.deepEqual(
      ids(diagnose(healthy({}, { wsl: { inWsl: true, version: 2, mode: 'mirrored' } }))),
      ['wsl-mirrored info'],
    );
  });

  it('warns about a VPN and a container, and notes a missing default route', () => {
    const vpn = only(diagnose(healthy({}, { vpn: ['wg0', 'tun0'] })), 'vpn');
    assert.equal(vpn.severity, 'warning');
    assert.match(vpn.message, /wg0, tun0/);
    const container = only(
      diagnose(healthy({}, { container: { inContainer: true, evidence: '/.dockerenv' } })),
      'container',
    );
    assert.equal(container.severity, 'warning');
    assert.match(container.message, /\/\.dockerenv/);
    assert.deepEqual(ids(diagnose(healthy({}, { defaultRoute: 'none' }))), [
      'no-default-route info',
    ]);
    assert.deepEqual(diagnose(healthy({}, { defaultRoute: 'unknown' })), []);
  });

  it('warns about a segmented network with its fix', () => {
    const segmentedNetworks = detectSegmentedNetwork([
      describeAddress('eth0', '10.20.5.7', 16, true, {}),
    ]);
    assert.equal(segmentedNetworks.length, 1);
    const finding = only(diagnose(healthy({ segmentedNetworks })), 'segmented-network');
    assert.equal(finding.severity, 'warning');
    assert.ok(
      finding.fix?.includes('beckon discover --target 10.20.N.0/24'),
      `fix: ${finding.fix}`,
    );
    assert.ok(finding.fix?.includes('10.20.0.0/24 to 10.20.255.0/24'), `fix: ${finding.fix}`);
    // And the subnet scan, explicit and auto.
    assert.ok(
      finding.fix?.includes(
        "beckon discover --scan 10.20.0.0/16 (about 4 min: on this host's own subnet a scan goes at most 256 probes/s)",
      ),
      `fix: ${finding.fix}`,
    );
    assert.match(finding.fix ?? '', /--scan auto, which scans it when broadcast finds nothing/);
    assert.match(finding.message, /10\.20\.5\.0\/24/);
  });

  it('notes down wired or wireless interfaces and warns about link-local addresses', () => {
    const down: InterfaceReport = {
      name: 'eth1',
      class: 'physical',
      up: false,
      state: 'down',
      addresses: [],
      used: false,
      reason: 'it is down (ip link set <name> up)',
      ...NO_IPV6,
    };
    const linkLocal: InterfaceReport = {
      name: 'eth3',
      class: 'link-local',
      up: true,
      state: 'up',
      addresses: [
        {
          address: '169.254.7.8',
          prefix: 16,
          netmask: '255.255.0.0',
          broadcast: '169.254.255.255',
          used: false,
          skipped: 'link-local',
        },
      ],
      used: false,
      reason: 'a 169.254 address means DHCP failed',
      ...NO_IPV6,
    };
    const findings = diagnose(healthy({ interfaces: [USED_ETH0, down, linkLocal] }));
    assert.deepEqual(ids(findings), ['link-local warning', 'interface-down info']);
    assert.match(only(findings, 'link-local').fix ?? '', /eth3/);
  });

  it('sorts problems before warnings before info', () => {
    const findings = diagnose(
      healthy(
        {
          segmentedNetworks: detectSegmentedNetwork([
            describeAddress('eth0', '10.20.5.7', 16, true, {}),
          ]),
          port: {
            port: 9999,
            state: 'in-use',
            sockets: [],
            holders: [
              { pid: 5, command: 'nc -u -l 9999', uid: 0, address: '0.0.0.0', beckon: false },
            ],
            answers: 'nothing',
            beckon: false,
            server: undefined,
          },
        },
        {
          defaultRoute: 'none',
          vpn: ['wg0'],
          wsl: { inWsl: true, version: 2, mode: 'nat' },
          firewall: {
            tool: 'iptables',
            verdict: 'dropped',
            where: '-A INPUT -p udp -j DROP',
            conditions: [],
            fix: 'iptables -I INPUT -p udp --dport 9999 -j ACCEPT',
          },
        },
      ),
    );
    assert.deepEqual(ids(findings), [
      'port-held problem',
      'firewall-drops problem',
      'wsl-nat problem',
      'vpn warning',
      'segmented-network warning',
      'no-default-route info',
    ]);
  });
});
