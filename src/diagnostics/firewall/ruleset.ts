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

/** One chain; base chains have a policy. */
export interface Chain {
  readonly rules: readonly Rule[];
  readonly policy?: 'accept' | 'drop' | undefined;
}

/** A ruleset: its chains by name, and the base chains an incoming packet passes, in order. */
export interface Ruleset {
  readonly tool: 'nftables' | 'iptables';
  readonly chains: ReadonlyMap<string, Chain>;
  readonly inputChains: readonly string[];
  /** The command that lets the port in, given the base chain where it was dropped. */
  readonly fix: (baseChain: string) => string;
}

/** What happens to the packet. */
export interface FirewallVerdict {
  readonly tool: 'nftables' | 'iptables';
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

const MAX_DEPTH = 16;

/** Follows the packet through every input base chain. */
export function evaluateRuleset(ruleset: Ruleset): FirewallVerdict {
  let possible: { where: string; conditions: readonly string[]; base: string } | undefined;
  for (const base of ruleset.inputChains) {
    const chain = ruleset.chains.get(base);
    if (!chain) continue;
    const onMaybeDrop = (rule: Rule) => {
      possible ??= { where: rule.where, conditions: rule.conditions, base };
    };
    const outcome = walk(ruleset, chain, 0, onMaybeDrop);
    const dropped =
      outcome.kind === 'drop'
        ? outcome.where
        : outcome.kind !== 'accept' && chain.policy === 'drop'
          ? `${base}: policy drop, and no rule accepts the port`
          : undefined;
    if (dropped) {
      return {
        tool: ruleset.tool,
        verdict: 'dropped',
        where: dropped,
        conditions: [],
        fix: ruleset.fix(base),
      };
    }
  }
  if (possible) {
    return {
      tool: ruleset.tool,
      verdict: 'may-drop',
      where: possible.where,
      conditions: possible.conditions,
      fix: ruleset.fix(possible.base),
    };
  }
  return {
    tool: ruleset.tool,
    verdict: 'accepted',
    where: undefined,
    conditions: [],
    fix: undefined,
  };
}

function walk(
  ruleset: Ruleset,
  chain: Chain,
  depth: number,
  onMaybeDrop: (rule: Rule) => void,
): Outcome {
  if (depth > MAX_DEPTH) return { kind: 'end' };
  for (const rule of chain.rules) {
    const { verdict } = rule;
    if (rule.match === 'no' || verdict.kind === 'continue') continue;
    if (rule.match === 'maybe') {
      // Assume the best: the packet takes the path past it. A drop that may apply is reported.
      if (verdict.kind === 'drop' || verdict.kind === 'reject') onMaybeDrop(rule);
      continue;
    }
    switch (verdict.kind) {
      case 'accept':
      case 'return':
        return { kind: verdict.kind };
      case 'drop':
      case 'reject':
        return { kind: 'drop', where: rule.where };
      case 'jump':
      case 'goto': {
        const target = ruleset.chains.get(verdict.target);
        if (!target) continue;
        const outcome = walk(ruleset, target, depth + 1, onMaybeDrop);
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
