import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIptablesSave } from '../../src/diagnostics/firewall/iptables.js';
import { parseNftRuleset } from '../../src/diagnostics/firewall/nftables.js';
import { evaluateRuleset, type FirewallVerdict } from '../../src/diagnostics/firewall/ruleset.js';

// ---------------------------------------------------------------- nftables

const METAINFO = {
  metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 },
};

type Expr = Record<string, unknown>;
const table = (family: string, name: string, handle = 1) => ({ table: { family, name, handle } });
const baseChain = (
  family: string,
  tableName: string,
  name: string,
  policy: 'accept' | 'drop',
  options: { hook?: string; prio?: number; handle?: number } = {},
) => ({
  chain: {
    family,
    table: tableName,
    name,
    handle: options.handle ?? 1,
    type: 'filter',
    hook: options.hook ?? 'input',
    prio: options.prio ?? 0,
    policy,
  },
});
const regularChain = (family: string, tableName: string, name: string, handle: number) => ({
  chain: { family, table: tableName, name, handle },
});
const rule = (
  family: string,
  tableName: string,
  chain: string,
  handle: number,
  expr: readonly Expr[],
) => ({ rule: { family, table: tableName, chain, handle, expr } });
const inetRule = (handle: number, expr: readonly Expr[], chain = 'input') =>
  rule('inet', 'filter', chain, handle, expr);
const ruleset = (...items: readonly object[]) => JSON.stringify({ nftables: [METAINFO, ...items] });

const match = (left: Expr, right: unknown, op = '==') => ({ match: { op, left, right } });
const udpDport = (right: unknown, op = '==') =>
  match({ payload: { protocol: 'udp', field: 'dport' } }, right, op);
const ACCEPT = { accept: null };
const DROP = { drop: null };

/** The ruleset of the brief, as `nft -j list ruleset` (nft 1.0.6) prints it. */
const FULL = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
    { table: { family: 'inet', name: 'filter', handle: 1 } },
    {
      chain: {
        family: 'inet',
        table: 'filter',
        name: 'input',
        handle: 1,
        type: 'filter',
        hook: 'input',
        prio: 0,
        policy: 'drop',
      },
    },
    { chain: { family: 'inet', table: 'filter', name: 'other', handle: 2 } },
    {
      rule: {
        family: 'inet',
        table: 'filter',
        chain: 'input',
        handle: 3,
        expr: [
          {
            match: {
              op: 'in',
              left: { ct: { key: 'state' } },
              right: ['established', 'related'],
            },
          },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'filter',
        chain: 'input',
        handle: 4,
        expr: [
          { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lo' } },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'filter',
        chain: 'input',
        handle: 5,
        expr: [
          {
            match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 },
          },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'filter',
        chain: 'input',
        handle: 7,
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'udp', field: 'dport' } },
              right: { set: [53, { range: [9990, 9999] }] },
            },
          },
          { counter: { packets: 0, bytes: 0 } },
          { drop: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'filter',
        chain: 'input',
        handle: 8,
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
              right: 5000,
            },
          },
          { accept: null },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'filter',
        chain: 'input',
        handle: 9,
        expr: [
          { match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'udp' } },
          { reject: { type: 'icmpx', expr: 'port-unreachable' } },
        ],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'filter',
        chain: 'input',
        handle: 10,
        expr: [{ jump: { target: 'other' } }],
      },
    },
    {
      rule: {
        family: 'inet',
        table: 'filter',
        chain: 'other',
        handle: 11,
        expr: [
          {
            match: {
              op: '==',
              left: { payload: { protocol: 'udp', field: 'dport' } },
              right: 9999,
            },
          },
          { accept: null },
        ],
      },
    },
  ],
});

function nft(json: string, port: number): FirewallVerdict {
  const parsed = parseNftRuleset(json, port);
  assert.ok(parsed, 'the ruleset parses');
  return evaluateRuleset(parsed);
}

describe('nftables ruleset', () => {
  it('reads the input base chain and its rules', () => {
    const parsed = parseNftRuleset(FULL, 9999);
    assert.equal(parsed?.tool, 'nftables');
    assert.deepEqual(parsed?.inputChains, ['inet filter input']);
    assert.equal(parsed?.chains.get('inet filter input')?.policy, 'drop');
    assert.equal(parsed?.chains.get('inet filter input')?.rules.length, 7);
    assert.equal(parsed?.chains.get('inet filter other')?.policy, undefined);
    assert.equal(parsed?.chains.get('inet filter other')?.rules.length, 1);
  });

  it('finds the port dropped by a set with a range', () => {
    assert.deepEqual(nft(FULL, 9999), {
      tool: 'nftables',
      verdict: 'dropped',
      where: 'inet filter input handle 7',
      conditions: [],
      fix: 'nft insert rule inet filter input udp dport 9999 accept',
    });
    // both ends of the range and the single element of the set
    assert.equal(nft(FULL, 9990).where, 'inet filter input handle 7');
    assert.equal(nft(FULL, 53).where, 'inet filter input handle 7');
  });

  it('finds any other UDP port rejected by the l4proto rule', () => {
    const verdict = nft(FULL, 4000);
    assert.equal(verdict.verdict, 'dropped');
    assert.equal(verdict.where, 'inet filter input handle 9');
    assert.equal(verdict.fix, 'nft insert rule inet filter input udp dport 4000 accept');
    // 10000 is just past the range of handle 7
    assert.equal(nft(FULL, 10000).where, 'inet filter input handle 9');
  });

  it('says may-drop for a port that only senders in 10/8 may send to', () => {
    // Handle 8 accepts 5000 from 10/8 only; everyone else reaches the reject of handle 9.
    const verdict = nft(FULL, 5000);
    assert.equal(verdict.verdict, 'may-drop');
    assert.equal(verdict.where, 'inet filter input handle 9');
    assert.equal(verdict.conditions.length, 1);
    assert.match(verdict.conditions[0] ?? '', /^not \(ip saddr .*10\.0\.0\.0/);
    assert.equal(verdict.fix, 'nft insert rule inet filter input udp dport 5000 accept');
  });

  it('follows a jump that depends on the arriving interface, and reports its drops as may-drop', () => {
    // firewalld-style: packets from eth0 go to a zone chain that drops the port.
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'accept'),
      regularChain('inet', 'filter', 'lan_in', 2),
      inetRule(3, [match({ meta: { key: 'iifname' } }, 'eth0'), { jump: { target: 'lan_in' } }]),
      inetRule(4, [udpDport(9999), DROP], 'lan_in'),
    );
    const verdict = nft(json, 9999);
    assert.equal(verdict.verdict, 'may-drop');
    assert.equal(verdict.where, 'inet filter lan_in handle 4');
    assert.deepEqual(verdict.conditions, ['arriving on eth0']);
    assert.equal(nft(json, 9998).verdict, 'accepted');
  });

  it('reports a drop that depends on the sender as may-drop, with the condition', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'accept'),
      inetRule(2, [
        match(
          { payload: { protocol: 'ip', field: 'saddr' } },
          { prefix: { addr: '192.168.0.0', len: 16 } },
        ),
        udpDport(5000),
        DROP,
      ]),
    );
    const verdict = nft(json, 5000);
    assert.equal(verdict.verdict, 'may-drop');
    assert.equal(verdict.where, 'inet filter input handle 2');
    assert.equal(verdict.conditions.length, 1);
    assert.match(verdict.conditions[0] ?? '', /ip saddr/);
    assert.match(verdict.conditions[0] ?? '', /192\.168\.0\.0/);
    assert.equal(verdict.fix, 'nft insert rule inet filter input udp dport 5000 accept');
    // another port does not match the rule at all
    assert.equal(nft(json, 5001).verdict, 'accepted');
  });

  it('follows a jump whose target accepts the port before any drop', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'drop'),
      regularChain('inet', 'filter', 'lan', 2),
      inetRule(3, [{ jump: { target: 'lan' } }]),
      inetRule(4, [match({ meta: { key: 'l4proto' } }, 'udp'), DROP]),
      inetRule(5, [udpDport(9999), ACCEPT], 'lan'),
    );
    assert.deepEqual(nft(json, 9999), {
      tool: 'nftables',
      verdict: 'accepted',
      where: undefined,
      conditions: [],
      fix: undefined,
    });
    // a port the jumped-to chain does not accept comes back and meets the drop
    assert.equal(nft(json, 9998).where, 'inet filter input handle 4');
  });

  it('does not let an accept in one base chain save the packet from a later base chain', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'a', 'accept', { prio: 0, handle: 1 }),
      baseChain('inet', 'filter', 'b', 'drop', { prio: 10, handle: 2 }),
      inetRule(3, [match({ meta: { key: 'iifname' } }, 'eth0'), ACCEPT], 'a'),
    );
    assert.equal(nft(json, 9999).verdict, 'dropped');
  });

  it('knows that a match on another protocol (icmpv6, sctp) does not match a UDP datagram', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'drop'),
      inetRule(3, [
        match({ payload: { protocol: 'icmpv6', field: 'type' } }, 'echo-request'),
        ACCEPT,
      ]),
      inetRule(4, [match({ payload: { protocol: 'sctp', field: 'dport' } }, 9999), ACCEPT]),
    );
    assert.equal(nft(json, 9999).verdict, 'dropped');
  });

  it('says dropped by the policy when a drop policy meets no accepting rule', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'drop'),
      inetRule(2, [match({ payload: { protocol: 'tcp', field: 'dport' } }, 22), ACCEPT]),
    );
    const verdict = nft(json, 9999);
    assert.equal(verdict.verdict, 'dropped');
    assert.match(verdict.where ?? '', /policy drop/);
    assert.match(verdict.where ?? '', /^inet filter input/);
    assert.equal(verdict.fix, 'nft insert rule inet filter input udp dport 9999 accept');
  });

  it('says accepted when an accept policy meets nothing relevant', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'accept'),
      inetRule(2, [match({ payload: { protocol: 'tcp', field: 'dport' } }, 22), DROP]),
      inetRule(3, [udpDport(53), DROP]),
      inetRule(4, [udpDport(9999, '!='), DROP]),
    );
    const verdict = nft(json, 9999);
    assert.equal(verdict.verdict, 'accepted');
    assert.equal(verdict.where, undefined);
    assert.equal(verdict.fix, undefined);
    // the != rule drops every other port
    assert.equal(nft(json, 9998).where, 'inet filter input handle 4');
  });

  it('reports an interface-conditioned drop as may-drop naming the interface', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'accept'),
      inetRule(2, [match({ meta: { key: 'iifname' } }, 'eth1'), udpDport(9999), DROP]),
    );
    const verdict = nft(json, 9999);
    assert.equal(verdict.verdict, 'may-drop');
    assert.equal(verdict.where, 'inet filter input handle 2');
    assert.equal(verdict.conditions.length, 1);
    assert.match(verdict.conditions[0] ?? '', /eth1/);
    const negated = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'accept'),
      inetRule(2, [match({ meta: { key: 'iifname' } }, 'eth0', '!='), DROP]),
    );
    assert.match(nft(negated, 9999).conditions[0] ?? '', /not on eth0/);
  });

  it('drops a new packet on a ct state new drop rule, not on a ct state invalid one', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'accept'),
      inetRule(2, [match({ ct: { key: 'state' } }, 'invalid', 'in'), DROP]),
      inetRule(3, [match({ ct: { key: 'state' } }, 'new', 'in'), DROP]),
    );
    const verdict = nft(json, 9999);
    assert.equal(verdict.verdict, 'dropped');
    assert.equal(verdict.where, 'inet filter input handle 3');
  });

  it('treats named set references as unknown (may-drop)', () => {
    const json = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'accept'),
      inetRule(2, [udpDport('@blocked_ports'), DROP]),
    );
    const verdict = nft(json, 9999);
    assert.equal(verdict.verdict, 'may-drop');
    assert.match(verdict.conditions[0] ?? '', /@blocked_ports/);
    const bySender = ruleset(
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'drop'),
      inetRule(2, [udpDport(9999), ACCEPT]),
      inetRule(3, [match({ payload: { protocol: 'ip', field: 'saddr' } }, '@blocklist'), DROP]),
    );
    // the accept comes first, so the set never matters
    assert.equal(nft(bySender, 9999).verdict, 'accepted');
  });

  it('ignores ip6 and bridge tables and chains on other hooks', () => {
    const json = ruleset(
      table('ip6', 'filter'),
      baseChain('ip6', 'filter', 'input', 'drop'),
      rule('ip6', 'filter', 'input', 2, [udpDport(9999), DROP]),
      table('bridge', 'filter'),
      baseChain('bridge', 'filter', 'input', 'drop'),
      rule('bridge', 'filter', 'input', 2, [udpDport(9999), DROP]),
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'output', 'drop', { hook: 'output' }),
      baseChain('inet', 'filter', 'forward', 'drop', { hook: 'forward' }),
    );
    const parsed = parseNftRuleset(json, 9999);
    assert.deepEqual(parsed?.inputChains, []);
    assert.equal(nft(json, 9999).verdict, 'accepted');
  });

  it('follows every input base chain by priority: an accept in one does not skip the next', () => {
    const json = ruleset(
      table('ip', 'fw', 2),
      baseChain('ip', 'fw', 'input', 'accept', { prio: 10 }),
      rule('ip', 'fw', 'input', 5, [udpDport(9999), DROP]),
      table('inet', 'filter'),
      baseChain('inet', 'filter', 'input', 'accept', { prio: -10 }),
      inetRule(2, [udpDport(9999), ACCEPT]),
    );
    const parsed = parseNftRuleset(json, 9999);
    assert.deepEqual(parsed?.inputChains, ['inet filter input', 'ip fw input']);
    assert.deepEqual(nft(json, 9999), {
      tool: 'nftables',
      verdict: 'dropped',
      where: 'ip fw input handle 5',
      conditions: [],
      fix: 'nft insert rule ip fw input udp dport 9999 accept',
    });
  });

  it('returns undefined for what is not a JSON ruleset', () => {
    assert.equal(parseNftRuleset('', 9999), undefined);
    assert.equal(parseNftRuleset('table inet filter {', 9999), undefined);
    assert.equal(parseNftRuleset('{"nftables":', 9999), undefined);
    assert.equal(parseNftRuleset('{"tables":[]}', 9999), undefined);
    assert.equal(parseNftRuleset('null', 9999), undefined);
  });
});

// ---------------------------------------------------------------- iptables

const IPTABLES_SAVE = `# Generated by iptables-save v1.8.9 (nf_tables) on Tue Jun  3 10:00:00 2025
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:MYCHAIN - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p udp -m udp --dport 9999 -j DROP
-A INPUT -p udp -m multiport --dports 5000,6000:6010 -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p udp -j REJECT --reject-with icmp-port-unreachable
-A INPUT -j MYCHAIN
-A MYCHAIN -p udp --dport 7000 -j ACCEPT
COMMIT
# Completed on Tue Jun  3 10:00:00 2025
# Generated by iptables-save v1.8.9 (nf_tables) on Tue Jun  3 10:00:00 2025
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A INPUT -p udp -m udp --dport 5000 -j DROP
-A INPUT -p udp -m udp --dport 7000 -j DROP
-A POSTROUTING -o eth0 -j MASQUERADE
COMMIT
# Completed on Tue Jun  3 10:00:00 2025
`;

function iptables(text: string, port: number): FirewallVerdict {
  const parsed = parseIptablesSave(text, port);
  assert.ok(parsed, 'the filter table parses');
  return evaluateRuleset(parsed);
}

describe('iptables-save ruleset', () => {
  it('reads the filter table only', () => {
    const parsed = parseIptablesSave(IPTABLES_SAVE, 9999);
    assert.equal(parsed?.tool, 'iptables');
    assert.deepEqual(parsed?.inputChains, ['INPUT']);
    assert.equal(parsed?.chains.get('INPUT')?.policy, 'drop');
    assert.equal(parsed?.chains.get('INPUT')?.rules.length, 6); // not the nat table's two
    assert.equal(parsed?.chains.get('FORWARD')?.policy, 'accept');
    assert.equal(parsed?.chains.get('MYCHAIN')?.policy, undefined);
    assert.equal(parsed?.chains.get('MYCHAIN')?.rules.length, 1);
    assert.equal(parsed?.chains.has('POSTROUTING'), false);
  });

  it('finds the port dropped by its rule, with the fix', () => {
    assert.deepEqual(iptables(IPTABLES_SAVE, 9999), {
      tool: 'iptables',
      verdict: 'dropped',
      where: '-A INPUT -p udp -m udp --dport 9999 -j DROP',
      conditions: [],
      fix: 'iptables -I INPUT -p udp --dport 9999 -j ACCEPT',
    });
  });

  it('accepts ports of a multiport rule (single ports and ranges)', () => {
    for (const port of [5000, 6000, 6005, 6010]) {
      const verdict = iptables(IPTABLES_SAVE, port);
      assert.equal(verdict.verdict, 'accepted', String(port));
      assert.equal(verdict.fix, undefined);
    }
  });

  it('says may-drop for a port a user chain accepts after a sender-conditioned reject', () => {
    const verdict = iptables(IPTABLES_SAVE, 7000);
    assert.equal(verdict.verdict, 'may-drop');
    assert.equal(
      verdict.where,
      '-A INPUT -s 10.0.0.0/8 -p udp -j REJECT --reject-with icmp-port-unreachable',
    );
    assert.deepEqual(verdict.conditions, ['-s 10.0.0.0/8']);
    assert.equal(verdict.fix, 'iptables -I INPUT -p udp --dport 7000 -j ACCEPT');
  });

  it('says may-drop, not dropped, when a rule accepts the port from some senders only', () => {
    const text =
      '*filter\n:INPUT DROP [0:0]\n-A INPUT -s 192.168.1.0/24 -p udp -m udp --dport 9999 -j ACCEPT\nCOMMIT\n';
    const verdict = iptables(text, 9999);
    assert.equal(verdict.verdict, 'may-drop');
    assert.match(verdict.where ?? '', /^INPUT: policy drop/);
    assert.deepEqual(verdict.conditions, ['not (-s 192.168.1.0/24)']);
  });

  it('counts a conditional RETURN (ufw-not-local) as a way past a later drop', () => {
    const text = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      ':ufw-not-local - [0:0]',
      '-A INPUT -j ufw-not-local',
      '-A ufw-not-local -m addrtype --dst-type LOCAL -j RETURN',
      '-A ufw-not-local -j DROP',
      'COMMIT',
    ].join('\n');
    const verdict = iptables(text, 9999);
    assert.equal(verdict.verdict, 'may-drop');
    assert.equal(verdict.where, '-A ufw-not-local -j DROP');
  });

  it('says dropped by the policy for a port nothing accepts', () => {
    for (const port of [6011, 8000]) {
      const verdict = iptables(IPTABLES_SAVE, port);
      assert.equal(verdict.verdict, 'dropped', String(port));
      assert.match(verdict.where ?? '', /^INPUT: policy drop/);
      assert.equal(verdict.fix, `iptables -I INPUT -p udp --dport ${port} -j ACCEPT`);
    }
  });

  it('says accepted for an open policy and may-drop for an interface condition', () => {
    const open = ['*filter', ':INPUT ACCEPT [0:0]', '-A INPUT -p tcp --dport 22 -j DROP', 'COMMIT'];
    assert.equal(iptables(open.join('\n'), 9999).verdict, 'accepted');
    const onEth1 = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      '-A INPUT -i eth1 -p udp --dport 9999 -j DROP',
      'COMMIT',
    ];
    const verdict = iptables(onEth1.join('\n'), 9999);
    assert.equal(verdict.verdict, 'may-drop');
    assert.deepEqual(verdict.conditions, ['arriving on eth1']);
    const newOnly = [
      '*filter',
      ':INPUT ACCEPT [0:0]',
      '-A INPUT -m conntrack --ctstate NEW -j DROP',
    ];
    assert.equal(iptables(newOnly.join('\n'), 9999).verdict, 'dropped');
  });

  it('returns undefined without a filter table', () => {
    const natOnly = IPTABLES_SAVE.slice(IPTABLES_SAVE.indexOf('*nat'));
    assert.equal(parseIptablesSave(natOnly, 9999), undefined);
    assert.equal(parseIptablesSave('', 9999), undefined);
  });
});
