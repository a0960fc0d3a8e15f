/**
 * Reads `nft -j list ruleset` into a {@link Ruleset} for a new UDP datagram to `port`, over IPv4
 * or over IPv6. Pure.
 */
import {
  type Chain,
  combine,
  type Match,
  portInList,
  type Rule,
  type Ruleset,
  type Verdict,
} from './ruleset.js';

type Json = unknown;
interface NftChain {
  family: string;
  table: string;
  name: string;
  hook?: string;
  prio?: number;
  policy?: string;
}
interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle?: number;
  expr?: Json[];
}

/** The IP family of the datagram. */
export type IpFamily = 'IPv4' | 'IPv6';

/**
 * Per family: the tables it passes, its IP header (a match on the other one fails), and its
 * `meta nfproto` value.
 */
const PACKET = {
  IPv4: { tables: new Set(['ip', 'inet']), ip: 'ip', nfproto: 'ipv4' },
  IPv6: { tables: new Set(['ip6', 'inet']), ip: 'ip6', nfproto: 'ipv6' },
} as const;
/** The other headers a UDP datagram has; a match on any other one (tcp, icmpv6...) fails. */
const PACKET_HEADERS = new Set(['ether', 'vlan', 'udp', 'th']);

/**
 * Parses the JSON ruleset for a datagram of `family` (the `ip` or `ip6` tables, and `inet`);
 * undefined when it is not one.
 */
export function parseNftRuleset(
  json: string,
  port: number,
  family: IpFamily = 'IPv4',
): Ruleset | undefined {
  const packet = PACKET[family];
  let items: Record<string, Json>[];
  try {
    const parsed = JSON.parse(json) as { nftables?: Record<string, Json>[] };
    if (!Array.isArray(parsed.nftables)) return undefined;
    items = parsed.nftables;
  } catch {
    return undefined;
  }
  const key = (family: string, table: string, chain: string) => `${family} ${table} ${chain}`;
  const chains = new Map<string, { rules: Rule[]; policy?: 'accept' | 'drop' | undefined }>();
  const bases: { key: string; prio: number }[] = [];
  for (const item of items) {
    const chain = item.chain as NftChain | undefined;
    if (chain && packet.tables.has(chain.family)) {
      const id = key(chain.family, chain.table, chain.name);
      const policy = chain.policy === 'drop' ? 'drop' : chain.hook ? 'accept' : undefined;
      chains.set(id, { rules: [], policy });
      if (chain.hook === 'input') bases.push({ key: id, prio: chain.prio ?? 0 });
    }
    const rule = item.rule as NftRule | undefined;
    if (rule && packet.tables.has(rule.family)) {
      const id = key(rule.family, rule.table, rule.chain);
      chains
        .get(id)
        ?.rules.push(
          readRule(rule, port, family, (target) => key(rule.family, rule.table, target)),
        );
    }
  }
  return {
    tool: 'nftables',
    chains: chains as ReadonlyMap<string, Chain>,
    inputChains: bases.sort((a, b) => a.prio - b.prio).map((base) => base.key),
    fix: (base) => `nft insert rule ${base} udp dport ${port} accept`,
  };
}

function readRule(
  rule: NftRule,
  port: number,
  family: IpFamily,
  chainKey: (name: string) => string,
): Rule {
  const matches: Match[] = [];
  const conditions: string[] = [];
  let verdict: Verdict = { kind: 'continue' };
  for (const expr of rule.expr ?? []) {
    if (typeof expr !== 'object' || expr === null) continue;
    const [name, body] = Object.entries(expr)[0] ?? [];
    if (name === 'match') {
      const result = readMatch(body as MatchExpr, port, family);
      matches.push(result.match);
      if (result.match === 'maybe') conditions.push(result.condition);
    } else if (name === 'accept' || name === 'drop' || name === 'reject' || name === 'return') {
      verdict = { kind: name };
    } else if (name === 'jump' || name === 'goto') {
      verdict = { kind: name, target: chainKey(String((body as { target?: string }).target)) };
    } else if (name !== 'counter' && name !== 'log' && name !== 'comment') {
      matches.push('maybe');
      conditions.push(`an "${name}" expression`);
    }
  }
  return {
    match: combine(matches),
    verdict,
    where: `${rule.family} ${rule.table} ${rule.chain} handle ${rule.handle ?? '?'}`,
    conditions,
  };
}

interface MatchExpr {
  op?: string;
  left?: Record<string, { protocol?: string; field?: string; key?: string }>;
  right?: Json;
}

function readMatch(
  expr: MatchExpr,
  port: number,
  family: IpFamily,
): { match: Match; condition: string } {
  const packet = PACKET[family];
  const [kind, left] = Object.entries(expr.left ?? {})[0] ?? [];
  const negate = expr.op === '!=';
  const values = flatten(expr.right);
  const decide = (positive: boolean): Match => (positive !== negate ? 'yes' : 'no');
  const maybe = (condition: string) => ({ match: 'maybe' as const, condition });
  const field = `${left?.protocol ?? kind} ${left?.field ?? left?.key ?? ''}`.trim();
  if (values.words.some((word) => word.startsWith('@')))
    return maybe(`${field} in the set ${values.words.join(', ')}`);
  if (kind === 'payload') {
    if ((left?.protocol === 'udp' || left?.protocol === 'th') && left.field === 'dport')
      return { match: decide(portInList(port, values.ports)), condition: '' };
    const protocol = left?.protocol;
    if (protocol !== undefined && protocol !== packet.ip && !PACKET_HEADERS.has(protocol))
      return { match: negate ? 'maybe' : 'no', condition: field }; // tcp, icmpv6, the other IP...
    if (protocol === packet.ip && (left?.field === 'protocol' || left?.field === 'nexthdr'))
      return {
        match: decide(values.words.includes('udp') || values.ports.includes(17)),
        condition: '',
      };
    return maybe(`${field} ${expr.op ?? '=='} ${JSON.stringify(expr.right)}`);
  }
  if (kind === 'meta' && (left?.key === 'l4proto' || left?.key === 'protocol'))
    return {
      match: decide(values.words.includes('udp') || values.ports.includes(17)),
      condition: '',
    };
  if (kind === 'meta' && left?.key === 'nfproto')
    return { match: decide(values.words.includes(packet.nfproto)), condition: '' };
  if (kind === 'meta' && (left?.key === 'iifname' || left?.key === 'iif')) {
    if (values.words.length === 1 && values.words[0] === 'lo')
      return { match: decide(false), condition: '' };
    return maybe(`arriving ${negate ? 'not ' : ''}on ${values.words.join(', ')}`);
  }
  if (kind === 'ct' && left?.key === 'state')
    return { match: decide(values.words.includes('new')), condition: '' };
  return maybe(`${field} ${expr.op ?? '=='} ${JSON.stringify(expr.right)}`);
}

/** The numbers, ranges and words of a match's right side (a value, a set, a range). */
function flatten(right: Json): { ports: (number | [number, number])[]; words: string[] } {
  const ports: (number | [number, number])[] = [];
  const words: string[] = [];
  const visit = (value: Json) => {
    if (typeof value === 'number') ports.push(value);
    else if (typeof value === 'string') words.push(value);
    else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object') {
      const object = value as { set?: Json; range?: [number, number] };
      if (object.set !== undefined) visit(object.set);
      if (Array.isArray(object.range))
        ports.push([Number(object.range[0]), Number(object.range[1])]);
    }
  };
  visit(right);
  return { ports, words };
}
