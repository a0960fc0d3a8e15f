/** Reads this host's firewall and says what it does to discovery requests on a port. */
import { runCommand } from '../run-command.js';
import { parseIptablesSave } from './iptables.js';
import { type IpFamily, parseNftRuleset } from './nftables.js';
import { evaluateRuleset, type FirewallVerdict } from './ruleset.js';

export type { IpFamily } from './nftables.js';
export type { FirewallTool, FirewallVerdict } from './ruleset.js';

/** The firewall check: a verdict, or why there is none. */
export type FirewallReport =
  | FirewallVerdict
  | { readonly tool: 'none'; readonly verdict: 'unknown'; readonly why: string };

/**
 * Reads nftables (`nft -j list ruleset`, which also shows iptables-nft rules), else the
 * legacy `iptables-save` (`ip6tables-save` for IPv6), and follows a new UDP datagram of
 * `family` to `port` through the input chains: for IPv4 the `ip` and `inet` tables, for IPv6 the
 * `ip6` and `inet` ones. Reading a ruleset needs root.
 */
export async function checkFirewall(
  port: number,
  family: IpFamily = 'IPv4',
): Promise<FirewallReport> {
  const nft = await runCommand('nft', ['-j', 'list', 'ruleset']);
  const nftRules = nft.ok ? parseNftRuleset(nft.stdout, port, family) : undefined;
  if (nftRules && nftRules.inputChains.length > 0) return evaluateRuleset(nftRules);
  const tool = family === 'IPv4' ? 'iptables' : 'ip6tables';
  const legacy = await runCommand(`${tool}-save`, ['-t', 'filter']);
  const legacyRules = legacy.ok ? parseIptablesSave(legacy.stdout, port, tool) : undefined;
  if (legacyRules) return evaluateRuleset(legacyRules);
  if (nftRules) return evaluateRuleset(nftRules); // no input chain: nothing filters
  if (legacy.ok)
    return { tool, verdict: 'accepted', where: undefined, conditions: [], fix: undefined };
  const failure = [nft, legacy].find((result) => !result.ok && !result.missing);
  return {
    tool: 'none',
    verdict: 'unknown',
    why:
      failure && !failure.ok
        ? `cannot read the firewall (${failure.error}); run as root to check it`
        : `neither nft nor ${tool}-save is installed`,
  };
}
