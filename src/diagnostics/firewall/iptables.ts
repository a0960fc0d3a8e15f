/**
 * Reads `iptables-save` output (the filter table) into a {@link Ruleset}; the same for
 * `ip6tables-save`, whose syntax is the same. Pure.
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

const BUILT_IN_VERDICTS: Record<string, Verdict['kind']> = {
  ACCEPT: 'accept',
  DROP: 'drop',
  REJECT: 'reject',
  RETURN: 'return',
  LOG: 'continue',
};

/**
 * Parses the `*filter` table of `iptables-save` (`tool: 'ip6tables'`: of `ip6tables-save`);
 * undefined when there is none.
 */
export function parseIptablesSave(
  text: string,
  port: number,
  tool: 'iptables' | 'ip6tables' = 'iptables',
): Ruleset | undefined {
  const chains = new Map<string, { rules: Rule[]; policy?: 'accept' | 'drop' | undefined }>();
  let inFilter = false;
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('*')) inFilter = line === '*filter';
    else if (!inFilter || line === 'COMMIT') continue;
    else if (line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(/\s+/);
      chains.set(name, {
        rules: [],
        policy: policy === 'DROP' ? 'drop' : policy === '-' ? undefined : 'accept',
      });
    } else if (line.startsWith('-A ')) {
      const tokens = tokenize(line);
      chains.get(tokens[1] ?? '')?.rules.push(readRule(line, tokens.slice(2), port));
    }
  }
  if (!chains.has('INPUT')) return undefined;
  return {
    tool,
    chains: chains as ReadonlyMap<string, Chain>,
    inputChains: ['INPUT'],
    fix: () => `${tool} -I INPUT -p udp --dport ${port} -j ACCEPT`,
  };
}

function tokenize(line: string): string[] {
  return (line.match(/"(?:[^"\\]|\\.)*"|\S+/g) ?? []).map((token) =>
    token.startsWith('"') ? token.slice(1, -1) : token,
  );
}

function readRule(line: string, tokens: readonly string[], port: number): Rule {
  const matches: Match[] = [];
  const conditions: string[] = [];
  let verdict: Verdict = { kind: 'continue' };
  let negate = false;
  const decide = (positive: boolean): Match => (positive !== negate ? 'yes' : 'no');
  for (let i = 0; i < tokens.length; i++) {
    const option = tokens[i] ?? '';
    const value = tokens[i + 1] ?? '';
    if (option === '!') {
      negate = true;
      continue;
    }
    let match: Match | undefined;
    switch (option) {
      case '-m':
      case '--comment':
        i++;
        break;
      case '-p':
        i++;
        match = decide(value === 'udp' || value === '17');
        break;
      case '--dport':
      case '--destination-port':
      case '--dports':
      case '--destination-ports':
        i++;
        match = decide(portInList(port, parsePorts(value)));
        break;
      case '--state':
      case '--ctstate':
        i++;
        match = decide(value.split(',').includes('NEW'));
        break;
      case '-i':
      case '--in-interface':
        i++;
        match = value === 'lo' ? decide(false) : 'maybe';
        if (match === 'maybe') conditions.push(`arriving ${negate ? 'not ' : ''}on ${value}`);
        break;
      case '-j':
      case '-g':
        i++;
        verdict =
          BUILT_IN_VERDICTS[value] !== undefined
            ? ({ kind: BUILT_IN_VERDICTS[value] } as Verdict)
            : { kind: option === '-j' ? 'jump' : 'goto', target: value };
        break;
      default: {
        // Any other option (-s, -d, --sport, a module's options) depends on what we cannot see.
        const takesValue = i + 1 < tokens.length && !value.startsWith('-');
        conditions.push(takesValue ? `${negate ? '! ' : ''}${option} ${value}` : option);
        match = 'maybe';
        if (takesValue) i++;
      }
    }
    if (match) matches.push(match);
    if (option === '-j' || option === '-g') break; // what follows are the target's options
    negate = false;
  }
  return { match: combine(matches), verdict, where: line, conditions };
}

function parsePorts(text: string): (number | [number, number])[] {
  return text.split(',').map((part) => {
    const [low = '', high] = part.split(':');
    return high === undefined ? Number(low) : [Number(low || 0), Number(high || 65535)];
  });
}
