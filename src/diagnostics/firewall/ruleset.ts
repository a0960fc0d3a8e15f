/**
 * A firewall ruleset reduced to what decides the fate of one packet: a new UDP datagram to the
 * discovery port, arriving from the LAN. Each rule already knows whether it matches that packet
 * (`yes`, `no`, or `maybe` when it depends on what we cannot know, like the sender's address).
 * Pure.
 */

/** Whether a rule matches the packet. */
export type Match = 'yes' | 'no' | 'maybe';

/** What a rule does when it matches. */
export type Verdict =
  | { readonly kind: 'accept' | 'drop' | 'reject' | 'return' | 'continue' }
  | { readonly kind: 'jump' | 'goto'; readonly target: string };

/** One rule. */
export interface Rule {
  readonly match: Match;
  readonly verdict: Verdict;
  /** Where it is, for people: `inet filter input handle 7`, `-A INPUT -p udp ... -j DROP`. */
  readonly where: string;
  /** What a `maybe` depends on, in words. */
  readonly conditions: readonly string[];
}

/** What the rules were read from: nftables, or the legacy iptables (ip6tables for IPv6). */
export type FirewallTool = 'nftables' | 'iptables' | 'ip6tables';

/** One chain; base chains have a policy. */
export interface Chain {
  readonly rules: readonly Rule[];
  readonly policy?: 'accept' | 'drop' | undefined;
}

/** A ruleset: its chains by name, and the base chains an incoming packet passes, in order. */
export interface Ruleset {
  readonly tool: FirewallTool;
  readonly chains: ReadonlyMap<string, Chain>;
  readonly inputChains: readonly string[];
  /** The command that lets the port in, given the base chain where it was dropped. */
  readonly fix: (baseChain: string) => string;
}

/** What happens to the packet. */
export interface FirewallVerdict {
  readonly tool: FirewallTool;
  /**
   * `accepted`: nothing drops it; `dropped`: a rule or policy drops every such packet;
   * `may-drop`: a rule drops it under conditions (sender, interface) we cannot check.
   */
  readonly verdict: 'accepted' | 'dropped' | 'may-drop';
  /** The rule (or policy) that drops it. */
  readonly where: string | undefined;
  /** For `may-drop`: what the drop depends on. */
  readonly conditions: readonly string[];
  /** The command that lets it in. */
  readonly fix: string | undefined;
}

type Outcome =
  | { readonly kind: 'accept' | 'return' | 'end' }
  | { readonly kind: 'drop'; readonly where: string };

/** What may happen off the certain path: drops and accepts that depend on conditions. */
interface Possibilities {
  drop: { where: string; conditions: readonly string[]; base: string } | undefined;
  /**
   * Conditions under which an earlier rule of the current base chain accepts the packet, or
   * returns it past a later drop.
   */
  accepts: string[];
}

const MAX_DEPTH = 16;

/**
 * Follows the packet through every input base chain. A definite drop or drop policy gives
 * `dropped`, unless an earlier rule may accept the packet (then `may-drop`, when that rule's
 * conditions do not hold); a drop that depends on conditions gives `may-drop`.
 */
export function evaluateRuleset(ruleset: Ruleset): FirewallVerdict {
  const maybe: Possibilities = { drop: undefined, accepts: [] };
  const verdict = (
    kind: FirewallVerdict['verdict'],
    where: string | undefined,
    conditions: readonly string[],
    base: string | undefined,
  ): FirewallVerdict => ({
    tool: ruleset.tool,
    verdict: kind,
    where,
    conditions,
    fix: base === undefined ? undefined : ruleset.fix(base),
  });
  for (const base of ruleset.inputChains) {
    const chain = ruleset.chains.get(base);
    if (!chain) continue;
    maybe.accepts = []; // an accept in one base chain does not save the packet from the next
    const outcome = walk(ruleset, chain, { depth: 0, certain: true, conditions: [], base }, maybe);
    const dropped =
      outcome.kind === 'drop'
        ? outcome.where
        : outcome.kind !== 'accept' && chain.policy === 'drop'
          ? `${base}: policy drop, and no rule accepts the port`
          : undefined;
    if (dropped && maybe.accepts.length > 0) {
      return verdict('may-drop', dropped, [`not (${maybe.accepts.join(' or ')})`], base);
    }
    if (dropped) return verdict('dropped', dropped, [], base);
  }
  if (maybe.drop)
    return verdict('may-drop', maybe.drop.where, maybe.drop.conditions, maybe.drop.base);
  return verdict('accepted', undefined, [], undefined);
}

interface WalkContext {
  readonly depth: number;
  /** False inside a chain reached through a jump that depends on conditions. */
  readonly certain: boolean;
  /** The conditions of those jumps. */
  readonly conditions: readonly string[];
  readonly base: string;
}

function walk(ruleset: Ruleset, chain: Chain, context: WalkContext, maybe: Possibilities): Outcome {
  if (context.depth > MAX_DEPTH) return { kind: 'end' };
  for (const rule of chain.rules) {
    const { verdict } = rule;
    if (rule.match === 'no' || verdict.kind === 'continue') continue;
    const certain = context.certain && rule.match === 'yes';
    const conditions = [...context.conditions, ...rule.conditions];
    switch (verdict.kind) {
      case 'accept':
        if (certain) return { kind: 'accept' };
        maybe.accepts.push(conditions.join(' and ') || rule.where);
        continue;
      case 'return':
        if (certain) return { kind: 'return' };
        maybe.accepts.push(conditions.join(' and ') || rule.where); // skips this chain's drops
        continue;
      case 'drop':
      case 'reject':
        if (certain) return { kind: 'drop', where: rule.where };
        maybe.drop ??= { where: rule.where, conditions, base: context.base };
        continue;
      case 'jump':
      case 'goto': {
        const target = ruleset.chains.get(verdict.target);
        if (!target) continue;
        const inner = { depth: context.depth + 1, certain, conditions, base: context.base };
        const outcome = walk(ruleset, target, inner, maybe);
        if (!certain) continue; // the packet may not go there: the rest of this chain still counts
        if (outcome.kind === 'accept' || outcome.kind === 'drop') return outcome;
        if (verdict.kind === 'goto') return { kind: 'end' };
      }
    }
  }
  return { kind: 'end' };
}
/** Combines the matches of a rule's conditions: any `no` wins, then any `maybe`. */
export function combine(matches: readonly Match[]): Match {
  if (matches.includes('no')) return 'no';
  return matches.includes('maybe') ? 'maybe' : 'yes';
}

/** Whether `port` is in a list of ports and `a-b`/`a:b` ranges. */
export function portInList(
  port: number,
  list: readonly (number | readonly [number, number])[],
): boolean {
  return list.some((item) =>
    typeof item === 'number' ? item === port : item[0] <= port && port <= item[1],
  );
}
