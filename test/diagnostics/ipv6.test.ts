/**
 * doctor's IPv6 and multicast part, pure: the /proc parsers on captured text, the per-link
 * IPv6 inventory, the IPv6 findings, and the IPv6 side of the firewall parsers. The readers
 * are run on a fake /proc and /sys, and on this host's real files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { type DoctorReport, diagnose, type Finding } from '../../src/diagnostics/doctor.js';
import { parseIptablesSave } from '../../src/diagnostics/firewall/iptables.js';
import { parseNftRuleset } from '../../src/diagnostics/firewall/nftables.js';
import { evaluateRuleset } from '../../src/diagnostics/firewall/ruleset.js';
import { type InterfaceReport, inventoryInterfaces } from '../../src/diagnostics/inventory.js';
import type { IPv6Sources } from '../../src/diagnostics/inventory6.js';
import {
  type BridgeMulticast,
  ipv6FactsReader,
  type LinkIPv6Settings,
  parseIfInet6,
} from '../../src/diagnostics/ipv6-facts.js';
import { parseIgmp, parseIgmp6, readMemberships } from '../../src/diagnostics/memberships.js';
import { describeAddress } from '../../src/network/interfaces.js';
import { ipv6InterfacesFrom } from '../../src/network/interfaces6.js';
import { requirePrerequisite } from '../helpers/prerequisite.js';

// ---------------------------------------------------------------- captured text

/**
 * Captured in a network namespace (Linux 6.x) where a process joined ff12::6265:636b on eth0
 * (`addMembership(IPV6_GROUP, '::%eth0')`) and 239.255.98.107 on eth0's IPv4 address; nll0 has
 * addr_gen_mode none; br9 is a bridge.
 */
const IGMP6 = `1    lo              ff020000000000000000000000000001     1 0000000C 0
1    lo              ff010000000000000000000000000001     1 00000008 0
3    eth0            ff12000000000000000000006265636b     1 00000004 0
3    eth0            ff0200000000000000000001ff000010     1 00000004 0
3    eth0            ff0200000000000000000001ff0151af     1 00000004 0
3    eth0            ff020000000000000000000000000001     1 0000000C 0
3    eth0            ff010000000000000000000000000001     1 00000008 0
5    nll0            ff020000000000000000000000000001     1 0000000C 0
5    nll0            ff010000000000000000000000000001     1 00000008 0
6    br9             ff02000000000000000000000000006a     1 00000004 0
6    br9             ff020000000000000000000000000001     1 0000000C 0
`;

const IGMP = `Idx\tDevice    : Count Querier\tGroup    Users Timer\tReporter
1\tlo        :     1      V3
\t\t\t\t010000E0     1 0:00000000\t\t0
3\teth0      :     2      V3
\t\t\t\t6B62FFEF     1 0:00000000\t\t0
\t\t\t\t010000E0     1 0:00000000\t\t0
5\tnll0      :     1      V3
\t\t\t\t010000E0     1 0:00000000\t\t0
6\tbr9       :     2      V3
\t\t\t\t010000E0     1 0:00000000\t\t0
\t\t\t\t6A0000E0     1 0:00000000\t\t0
`;

/** eth0: a link-local and a ULA; eth1: a tentative link-local; eth2: one that failed DAD. */
const IF_INET6 = `00000000000000000000000000000001 01 80 10 80       lo
fe8000000000000050fd33fffe0151af 03 40 20 80     eth0
fd150000000000000000000000000010 03 40 00 80     eth0
20010db8000000000000000000000005 03 40 00 80     eth0
fe800000000000000000000000000011 07 40 20 c0     eth1
fe800000000000000000000000000022 08 40 20 88     eth2
`;

describe('/proc/net/igmp6 and /proc/net/igmp', () => {
  it('reads every IPv6 group per link, in RFC 5952 form', () => {
    const groups = parseIgmp6(IGMP6);
    assert.equal(groups.length, 11);
    assert.deepEqual(
      groups.filter((m) => m.interface === 'eth0').map((m) => m.group),
      ['ff12::6265:636b', 'ff02::1:ff00:10', 'ff02::1:ff01:51af', 'ff02::1', 'ff01::1'],
    );
    assert.ok(groups.every((m) => m.family === 'IPv6'));
  });

  it('reads the IPv4 groups under each link, as a little-endian host prints them', () => {
    assert.deepEqual(
      parseIgmp(IGMP, true).map((m) => `${m.interface} ${m.group}`),
      [
        'lo 224.0.0.1',
        'eth0 239.255.98.107',
        'eth0 224.0.0.1',
        'nll0 224.0.0.1',
        'br9 224.0.0.1',
        'br9 224.0.0.106',
      ],
    );
  });

  it('reads the same words the other way round on a big-endian host', () => {
    const bigEndian = IGMP.replace('6B62FFEF', 'EFFF626B');
    assert.equal(parseIgmp(bigEndian, false)[1]?.group, '239.255.98.107');
  });

  it('skips what does not fit: headers, empty lines, short or non-hex groups', () => {
    assert.deepEqual(
      parseIgmp6('\nIdx Device\n3 eth0 ff12\n3 eth0 zz12000000000000000000006265636b 1\n'),
      [],
    );
    assert.deepEqual(parseIgmp('\t\t\t\t6B62FFEF     1 0:00000000\t\t0\n', true), []); // no link yet
    assert.deepEqual(parseIgmp('', true), []);
  });
});

describe('/proc/net/if_inet6', () => {
  it('reads address, link, prefix and the DAD flags', () => {
    const entries = parseIfInet6(IF_INET6);
    assert.deepEqual(
      entries.map((e) => [e.interface, e.address, e.prefix, e.tentative, e.dadFailed]),
      [
        ['lo', '::1', 128, false, false],
        ['eth0', 'fe80::50fd:33ff:fe01:51af', 64, false, false],
        ['eth0', 'fd15::10', 64, false, false],
        ['eth0', '2001:db8::5', 64, false, false],
        ['eth1', 'fe80::11', 64, true, false], // c0: permanent + tentative
        ['eth2', 'fe80::22', 64, false, true], // 88: permanent + dadfailed
      ],
    );
  });

  it('skips lines that do not fit', () => {
    assert.deepEqual(parseIfInet6('fe80 03 40 20 80 eth0\n\n'), []);
  });
});

// ---------------------------------------------------------------- readers

describe('ipv6FactsReader and readMemberships', () => {
  const fake = () => {
    const root = mkdtempSync(join(tmpdir(), 'beckon-ipv6-'));
    const write = (path: string, text: string) => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    return { root, write, remove: () => rmSync(root, { recursive: true, force: true }) };
  };

  it('reads the host state, link settings and bridge settings from /proc and /sys', (t) => {
    const { root, write, remove } = fake();
    t.after(remove);
    const reader = () => ipv6FactsReader({ proc: `${root}/proc`, sys: `${root}/sys` });
    assert.equal(reader().host(), 'unknown'); // no /proc/net: not Linux
    write('proc/net/igmp', IGMP);
    assert.equal(reader().host(), 'absent'); // no if_inet6: no IPv6 in the kernel
    write('proc/net/if_inet6', IF_INET6);
    write('proc/sys/net/ipv6/conf/all/disable_ipv6', '0\n');
    assert.equal(reader().host(), 'on');
    write('proc/sys/net/ipv6/conf/all/disable_ipv6', '1\n');
    assert.equal(reader().host(), 'disabled');
    assert.equal(reader().addresses()?.length, 6);

    write('proc/sys/net/ipv6/conf/dis0/disable_ipv6', '1\n');
    write('proc/sys/net/ipv6/conf/dis0/addr_gen_mode', '0\n');
    write('proc/sys/net/ipv6/conf/nll0/disable_ipv6', '0\n');
    write('proc/sys/net/ipv6/conf/nll0/addr_gen_mode', '1\n');
    assert.deepEqual(reader().link('dis0'), { disabled: true, addrGenMode: 'eui64' });
    assert.deepEqual(reader().link('nll0'), { disabled: false, addrGenMode: 'none' });
    assert.deepEqual(reader().link('nope'), { disabled: undefined, addrGenMode: undefined });
    assert.deepEqual(reader().link('../../x'), { disabled: undefined, addrGenMode: undefined });

    write('sys/class/net/br9/bridge/multicast_snooping', '1\n');
    write('sys/class/net/br9/bridge/multicast_querier', '0\n');
    assert.deepEqual(reader().bridge('br9'), { snooping: true, querier: false });
    assert.equal(reader().bridge('eth0'), undefined);

    assert.equal(readMemberships(`${root}/proc`)?.length, 6); // igmp only: IPv6 absent
    write('proc/net/igmp6', IGMP6);
    assert.equal(readMemberships(`${root}/proc`)?.length, 17);
    assert.equal(readMemberships(`${root}/nothing`), undefined);
  });

  it("reads this host's real files: lo has joined the all-nodes groups", (t) => {
    const linux = existsSync('/proc/net/igmp6') && existsSync('/proc/net/igmp');
    if (!requirePrerequisite(t, linux, 'Linux with IPv6 (/proc/net/igmp6)')) return;
    const joined = readMemberships() ?? [];
    assert.ok(
      joined.some((m) => m.interface === 'lo' && m.group === 'ff02::1'),
      JSON.stringify(joined),
    );
    assert.ok(joined.some((m) => m.interface === 'lo' && m.group === '224.0.0.1'));
    const reader = ipv6FactsReader();
    assert.ok(reader.addresses()?.some((e) => e.interface === 'lo' && e.address === '::1'));
  });
});

// ---------------------------------------------------------------- inventory

const LINK_FACTS = { adminUp: true, operstate: 'up', carrier: true } as const;

function sources(change: Partial<IPv6Sources> = {}): IPv6Sources {
  const settings: Record<string, LinkIPv6Settings> = {
    eth0: { disabled: false, addrGenMode: 'eui64' },
    eth1: { disabled: false, addrGenMode: 'eui64' },
    eth2: { disabled: false, addrGenMode: 'eui64' },
    dis0: { disabled: true, addrGenMode: 'eui64' },
    nll0: { disabled: false, addrGenMode: 'none' },
    br9: { disabled: false, addrGenMode: 'eui64' },
  };
  const bridges: Record<string, BridgeMulticast> = { br9: { snooping: true, querier: false } };
  return {
    host: 'on',
    interfaces: ipv6InterfacesFrom({
      eth0: [
        {
          address: 'fe80::50fd:33ff:fe01:51af',
          netmask: 'ffff:ffff:ffff:ffff::',
          family: 'IPv6',
          mac: '52:fd:33:01:51:af',
          internal: false,
          cidr: 'fe80::50fd:33ff:fe01:51af/64',
          scopeid: 3,
        },
      ],
    }),
    inet6: parseIfInet6(IF_INET6),
    memberships: [...parseIgmp6(IGMP6), ...parseIgmp(IGMP, true)],
    link: (name) => settings[name] ?? { disabled: undefined, addrGenMode: undefined },
    bridge: (name) => bridges[name],
    ...change,
  };
}

function inventory(ipv6: IPv6Sources) {
  const reports = inventoryInterfaces(
    {
      interfaces: () => [
        describeAddress('lo', '127.0.0.1', 8, true, {}),
        describeAddress('eth0', '192.168.1.10', 24, true, LINK_FACTS),
      ],
      linkNames: () => ['br9', 'dis0', 'eth0', 'eth1', 'eth2', 'lo', 'nll0'],
      linkAddresses: [],
      linkFacts: (name) => (name === 'lo' ? { type: 772 } : LINK_FACTS),
      ipv6,
    },
    [],
    [],
  );
  const byName = (name: string): InterfaceReport => {
    const found = reports.find((r) => r.name === name);
    assert.ok(found, `${name} is in the inventory`);
    return found;
  };
  return { reports, byName };
}

describe('the IPv6 inventory', () => {
  it("lists a link's addresses with their kind, the link-local one with its zone", () => {
    const eth0 = inventory(sources()).byName('eth0');
    assert.deepEqual(eth0.ipv6, {
      disabled: false,
      addrGenMode: 'eui64',
      addresses: [
        {
          address: 'fe80::50fd:33ff:fe01:51af%eth0',
          prefix: 64,
          kind: 'link-local',
          state: 'usable',
        },
        { address: 'fd15::10', prefix: 64, kind: 'unique-local', state: 'usable' },
        { address: '2001:db8::5', prefix: 64, kind: 'global', state: 'usable' },
      ],
    });
    assert.equal(eth0.bridge, undefined);
  });

  it("shows beckon's groups joined on a link, and none elsewhere", () => {
    const { byName } = inventory(sources());
    assert.deepEqual(byName('eth0').groups, ['ff12::6265:636b', '239.255.98.107']);
    assert.deepEqual(byName('nll0').groups, []);
    assert.equal(inventory(sources({ memberships: undefined })).byName('eth0').groups, undefined);
  });

  it('shows tentative and failed addresses, the settings, and the bridge', () => {
    const { byName } = inventory(sources());
    assert.equal(byName('eth1').ipv6.addresses[0]?.state, 'tentative');
    assert.equal(byName('eth2').ipv6.addresses[0]?.state, 'dad-failed');
    assert.equal(byName('dis0').ipv6.disabled, true);
    assert.equal(byName('nll0').ipv6.addrGenMode, 'none');
    assert.deepEqual(byName('nll0').ipv6.addresses, []);
    assert.deepEqual(byName('br9').bridge, { snooping: true, querier: false });
  });

  it('marks every link disabled when IPv6 is off host-wide', () => {
    const { reports } = inventory(sources({ host: 'disabled' }));
    assert.ok(reports.every((r) => r.ipv6.disabled === true));
  });

  it('lists a link that has IPv6 addresses only', () => {
    const only6 = inventoryInterfaces(
      {
        interfaces: () => [],
        linkNames: () => [],
        linkAddresses: [],
        linkFacts: () => LINK_FACTS,
        ipv6: sources(),
      },
      [],
      [],
    );
    const eth0 = only6.find((r) => r.name === 'eth0');
    assert.equal(eth0?.used, false);
    assert.equal(eth0?.ipv6.addresses.length, 3);
  });
});

// ---------------------------------------------------------------- findings

const ids = (findings: readonly Finding[]) => findings.map((f) => `${f.id} ${f.severity}`);
const only = (findings: readonly Finding[], id: string, text?: RegExp): Finding => {
  const matching = findings.filter((f) => f.id === id && (!text || text.test(f.message)));
  assert.equal(matching.length, 1, `one ${id} ${text ?? ''} in ${JSON.stringify(ids(findings))}`);
  return matching[0] as Finding;
};
const ACCEPTED = {
  tool: 'nftables',
  verdict: 'accepted',
  where: undefined,
  conditions: [],
  fix: undefined,
} as const;

function report(
  ipv6: IPv6Sources,
  environment: Partial<DoctorReport['environment']> = {},
): Omit<DoctorReport, 'findings'> {
  return {
    schema: 1,
    interfaces: inventory(ipv6).reports,
    port: {
      port: 9999,
      state: 'free',
      sockets: [],
      holders: [],
      answers: undefined,
      beckon: false,
      server: undefined,
    },
    selfTest: undefined,
    environment: {
      container: { inContainer: false, evidence: undefined },
      wsl: { inWsl: false, version: undefined, mode: undefined },
      vpn: [],
      defaultRoute: { interface: 'eth0', gateway: '192.168.1.1' },
      firewall: ACCEPTED,
      ipv6: ipv6.host,
      firewall6: ACCEPTED,
      ...environment,
    },
    segmentedNetworks: [],
  };
}

describe('the IPv6 findings', () => {
  it('explains each broken link, with its fix', () => {
    const findings = diagnose(report(sources()));
    assert.deepEqual(ids(findings).sort(), [
      'ipv6-disabled warning',
      'no-link-local info',
      'no-link-local warning',
      'no-link-local warning',
      'no-link-local warning',
      'snooping-without-querier warning',
    ]);
    const disabled = only(findings, 'ipv6-disabled');
    assert.match(
      disabled.message,
      /IPv6 is disabled on dis0 \(net\.ipv6\.conf\.dis0\.disable_ipv6 = 1\)/,
    );
    assert.equal(
      disabled.fix?.startsWith('sysctl -w net.ipv6.conf.dis0.disable_ipv6=0'),
      true,
      disabled.fix,
    );
    const none = only(findings, 'no-link-local', /^nll0/);
    assert.match(none.message, /addr_gen_mode is none/);
    assert.match(none.message, /IPv6 multicast cannot leave nll0/);
    assert.match(none.fix ?? '', /^sysctl -w net\.ipv6\.conf\.nll0\.addr_gen_mode=0/);
    const dad = only(findings, 'no-link-local', /^eth2/);
    assert.match(dad.message, /fe80::22%eth2 failed duplicate address detection/);
    assert.match(dad.fix ?? '', /addrgenmode random/);
    assert.match(only(findings, 'no-link-local', /eth1/).message, /still tentative/);
    const gone = only(findings, 'no-link-local', /^br9/);
    assert.match(gone.message, /^br9 has no link-local address \(it was removed/);
    assert.equal(gone.fix, 'ip link set br9 down && ip link set br9 up');
    const bridge = only(findings, 'snooping-without-querier');
    assert.match(bridge.message, /^br9 is a bridge that snoops multicast/);
    assert.match(bridge.message, /ff12::6265:636b and 239\.255\.98\.107/);
    assert.match(bridge.fix ?? '', /^ip link set br9 type bridge mcast_querier 1/);
  });

  it('says nothing about links that are fine, down, loopback or tunnels', () => {
    const healthy = sources({
      inet6: parseIfInet6(IF_INET6).filter((e) => e.interface !== 'eth1' && e.interface !== 'eth2'),
      link: () => ({ disabled: false, addrGenMode: 'eui64' as const }),
      bridge: () => ({ snooping: true, querier: true }),
    });
    // eth1, eth2, br9, dis0, nll0 have no link-local now: all but eth0 are left out as down.
    const down = { adminUp: false, operstate: 'down', hardware: false, type: 1 } as const;
    const reports = inventoryInterfaces(
      {
        interfaces: () => [describeAddress('eth0', '192.168.1.10', 24, true, LINK_FACTS)],
        linkNames: () => ['eth0', 'eth1', 'lo', 'wg0'],
        linkAddresses: [],
        linkFacts: (name) =>
          name === 'eth1' ? down : name === 'wg0' ? { ...LINK_FACTS, type: 65534 } : LINK_FACTS,
        ipv6: healthy,
      },
      [],
      [],
    );
    const base = report(healthy);
    assert.deepEqual(diagnose({ ...base, interfaces: reports }), []);
  });

  it('explains IPv6 off on the host once, instead of per link', () => {
    const off = diagnose(report(sources({ host: 'disabled' })));
    const finding = only(off, 'ipv6-off');
    assert.equal(finding.severity, 'warning');
    assert.match(finding.message, /net\.ipv6\.conf\.all\.disable_ipv6 = 1/);
    assert.match(finding.fix ?? '', /^sysctl -w net\.ipv6\.conf\.all\.disable_ipv6=0/);
    assert.ok(
      !ids(off).some((id) => id.startsWith('ipv6-disabled') || id.startsWith('no-link-local')),
    );
    const absent = only(diagnose(report(sources({ host: 'absent' }))), 'ipv6-off');
    assert.match(absent.message, /ipv6\.disable=1/);
    assert.match(absent.fix ?? '', /GRUB_CMDLINE_LINUX/);
    // Not Linux: nothing is known, nothing is said.
    const unknown = diagnose(
      report(
        sources({
          host: 'unknown',
          inet6: undefined,
          link: () => ({ disabled: undefined, addrGenMode: undefined }),
        }),
      ),
    );
    assert.ok(!ids(unknown).some((id) => /ipv6|link-local/.test(id)), JSON.stringify(ids(unknown)));
  });

  it('reports a firewall that drops the port over IPv6 only, and not twice for an inet rule', () => {
    const ip6Drop = {
      tool: 'nftables',
      verdict: 'dropped',
      where: 'ip6 filter6 input handle 2',
      conditions: [],
      fix: 'nft insert rule ip6 filter6 input udp dport 9999 accept',
    } as const;
    const findings = diagnose(report(sources(), { firewall6: ip6Drop }));
    const finding = only(findings, 'firewall-drops-ipv6');
    assert.equal(finding.severity, 'warning');
    assert.match(finding.message, /over IPv6 only: ip6 filter6 input handle 2/);
    assert.equal(finding.fix, ip6Drop.fix);
    // One inet rule dropping both families: the IPv4 finding says it.
    const inetDrop = { ...ip6Drop, where: 'inet filter input handle 7' };
    const both = diagnose(report(sources(), { firewall: inetDrop, firewall6: inetDrop }));
    assert.equal(only(both, 'firewall-drops').severity, 'problem');
    assert.ok(!ids(both).some((id) => id.startsWith('firewall-drops-ipv6')));
    const maybe = diagnose(
      report(sources(), {
        firewall6: { ...ip6Drop, verdict: 'may-drop', conditions: ['arriving on eth0'] },
      }),
    );
    assert.match(only(maybe, 'firewall-may-drop-ipv6').message, /when arriving on eth0/);
  });

  it('reports a failed IPv6 loopback self-test', () => {
    const failed = {
      ...report(sources({ host: 'unknown' })),
      selfTest: {
        port: 40000,
        results: [],
        loopback6: {
          interface: 'lo',
          address: '::1',
          found: false,
          rttMs: undefined,
          dropped: undefined,
        },
        error: undefined,
      },
    };
    const finding = only(diagnose(failed), 'self-test-ipv6-failed');
    assert.equal(finding.severity, 'warning');
    assert.match(finding.message, /::1 to ::1/);
  });
});

// ---------------------------------------------------------------- firewall over IPv6

/** Captured with nft 1.0.6: an ip6 table dropping 9999, an inet table with per-family rules. */
const NFT_MIXED = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'ip6', name: 'filter6', handle: 1 } },
    {
      chain: {
        family: 'ip6',
        table: 'filter6',
        name: 'input',
        handle: 1,
        type: 'filter',
        hook: 'input',
        prio: 0,
        policy: 'accept',
      },
    },
    {
      rule: {
        family: 'ip6',
        table: 'filter6',
        chain: 'input',
        handle: 2,
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'udp', field: 'dport' } },
              right: 9999,
            },
          },
          { counter: { packets: 0, bytes: 0 } },
          { drop: null },
        ],
      },
    },
    { table: { family: 'inet', name: 'mixed', handle: 2 } },
    {
      chain: {
        family: 'inet',
        table: 'mixed',
        name: 'input',
        handle: 1,
        type: 'filter',
        hook: 'input',
        prio: 10,
        policy: 'accept',
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'mixed',
        chain: 'input',
        handle: 2,
        expr: [
          { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv4' } },
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'udp', field: 'dport' } },
              right: 9998,
            },
          },
          { drop: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'mixed',
        chain: 'input',
        handle: 3,
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'ip', field: 'saddr' } },
              right: { prefix: { addr: '10.0.0.0', len: 8 } },
            },
          },
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'udp', field: 'dport' } },
              right: 9997,
            },
          },
          { drop: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'mixed',
        chain: 'input',
        handle: 4,
        expr: [
          { match: { op: '==', left: { meta: { key: 'nfproto' } }, right: 'ipv6' } },
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'udp', field: 'dport' } },
              right: 9996,
            },
          },
          { drop: null },
        ],
      },
    },
  ],
});

const verdict = (port: number, family: 'IPv4' | 'IPv6') => {
  const parsed = parseNftRuleset(NFT_MIXED, port, family);
  assert.ok(parsed);
  return evaluateRuleset(parsed);
};

describe('the firewall over IPv6', () => {
  it('reads the ip6 and inet tables for IPv6, the ip and inet ones for IPv4', () => {
    assert.deepEqual(parseNftRuleset(NFT_MIXED, 9999, 'IPv6')?.inputChains, [
      'ip6 filter6 input',
      'inet mixed input',
    ]);
    assert.deepEqual(parseNftRuleset(NFT_MIXED, 9999)?.inputChains, ['inet mixed input']);
  });

  it('finds the ip6 table that drops the port over IPv6 only', () => {
    assert.deepEqual(verdict(9999, 'IPv6'), {
      tool: 'nftables',
      verdict: 'dropped',
      where: 'ip6 filter6 input handle 2',
      conditions: [],
      fix: 'nft insert rule ip6 filter6 input udp dport 9999 accept',
    });
    assert.equal(verdict(9999, 'IPv4').verdict, 'accepted');
  });

  it('follows meta nfproto and IPv4 header matches in an inet table per family', () => {
    assert.equal(verdict(9998, 'IPv4').verdict, 'dropped');
    assert.equal(verdict(9998, 'IPv6').verdict, 'accepted');
    assert.equal(verdict(9996, 'IPv4').verdict, 'accepted');
    assert.equal(verdict(9996, 'IPv6').where, 'inet mixed input handle 4');
    // ip saddr: depends on the sender over IPv4, never matches an IPv6 datagram.
    assert.equal(verdict(9997, 'IPv4').verdict, 'may-drop');
    assert.equal(verdict(9997, 'IPv6').verdict, 'accepted');
  });

  it('reads an ip6 nexthdr match as the UDP test it is', () => {
    const json = JSON.stringify({
      nftables: [
        {
          chain: {
            family: 'ip6',
            table: 't',
            name: 'in',
            hook: 'input',
            prio: 0,
            policy: 'accept',
          },
        },
        {
          rule: {
            family: 'ip6',
            table: 't',
            chain: 'in',
            handle: 3,
            expr: [
              {
                match: {
                  op: '==',
                  left: { payload: { protocol: 'ip6', field: 'nexthdr' } },
                  right: 'udp',
                },
              },
              { drop: null },
            ],
          },
        },
      ],
    });
    const parsed = parseNftRuleset(json, 9999, 'IPv6');
    assert.ok(parsed);
    assert.equal(evaluateRuleset(parsed).verdict, 'dropped');
  });

  it('reads ip6tables-save, with an ip6tables fix', () => {
    const text = `*filter
:INPUT ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 9999 -j DROP
COMMIT
`;
    const parsed = parseIptablesSave(text, 9999, 'ip6tables');
    assert.ok(parsed);
    assert.deepEqual(evaluateRuleset(parsed), {
      tool: 'ip6tables',
      verdict: 'dropped',
      where: '-A INPUT -p udp -m udp --dport 9999 -j DROP',
      conditions: [],
      fix: 'ip6tables -I INPUT -p udp --dport 9999 -j ACCEPT',
    });
  });
});
