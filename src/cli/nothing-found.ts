/** What `beckon discover` says when no server answered, and what to try next. */
import type { DiscoverSettings } from '../client/options.js';
import {
  describeScanTime,
  detectSegmentedNetwork,
  type SegmentedNetwork,
} from '../diagnostics/segmented.js';
import type { NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import {
  describeInterfaces,
  type InterfaceSelection,
  SKIP_REASONS,
  selectInterfaces,
} from '../network/select.js';
import { ipv6Links, unmatchedAnywhere } from '../network/select6.js';
import { UsageError } from './io.js';

/**
 * `--interface` patterns are checked before discovery starts: one that matches no interface is
 * a typo, a usage error that lists the interfaces there are.
 *
 * @throws {UsageError} naming the patterns that match nothing and listing the interfaces.
 */
export function checkInterfaceFlags(
  settings: Pick<DiscoverSettings, 'include' | 'includeLinks'>,
  interfaces: readonly NetworkInterface[],
  interfaces6: readonly IPv6InterfaceAddress[] = [],
): void {
  const links = ipv6Links(interfaces6);
  const unmatched = unmatchedAnywhere(settings.include, settings.includeLinks, interfaces, links);
  if (unmatched.length === 0) return;
  const quoted = unmatched.map((pattern) => `"${pattern}"`).join(', ');
  throw new UsageError(
    `--interface ${quoted} ${unmatched.length === 1 ? 'matches' : 'match'} no interface that is up with an IPv4 address or IPv6 link. ` +
      `Interfaces here: ${describeInterfaces(interfaces)}.`,
  );
}

/** What `explainNothingFound` needs to know: the settings of the run, and how keys were given. */
export type NothingFoundSettings = Pick<
  DiscoverSettings,
  'include' | 'exclude' | 'broadcast' | 'targets' | 'port' | 'mode' | 'service' | 'authenticated'
> &
  Partial<Pick<DiscoverSettings, 'registry' | 'scan'>>;

/**
 * The explanation printed on stderr after "nothing found", several lines. `authKeySource` names
 * where the auth key came from (`--auth-key`, or the environment variable).
 */
export function explainNothingFound(
  settings: NothingFoundSettings,
  interfaces: readonly NetworkInterface[],
  authKeySource = '--auth-key',
): string {
  const lines = ['No servers found.', ...explainFilters(settings, authKeySource)];
  const selection = selectInterfaces(interfaces, settings.include, settings.exclude);
  if (settings.broadcast && selection.selected.length === 0) {
    lines.push(explainNoInterface(selection, settings.targets.length > 0));
  } else {
    lines.push(
      'Check that a responder runs on the same network and UDP port, that no firewall drops',
      'the port, and, across routers or VLANs, ask the server directly with --target <ip|cidr>',
      settings.registry
        ? 'or scan its subnet with --scan <cidr> (docs/beyond-one-lan.md).'
        : 'or scan its subnet with --scan <cidr>; where servers register in etcd, read it with\n' +
            '--registry etcd://host:2379 (docs/beyond-one-lan.md).',
    );
    const segmented = detectSegmentedNetwork(selection.selected, { port: settings.port });
    if (segmented.length > 0) lines.push('', explainSegmented(segmented, settings.scan));
  }
  if (settings.registry) {
    const of = settings.service === undefined ? '' : ` of service ${settings.service}`;
    lines.push(
      `The registry ${settings.registry.display} was asked too: no usable record${of} there (a warning above says so if it could not be read).`,
    );
  }
  lines.push(
    settings.registry
      ? `Run "beckon doctor --registry ${settings.registry.display}" for a full diagnosis.`
      : 'Run "beckon doctor" for a full diagnosis.',
  );
  return lines.join('\n');
}

/**
 * Filters make servers stay silent rather than say no: a request for another service, signed
 * with a key the server does not hold, or in the extended format an original server does not
 * know, gets no answer at all. Without this note, "nothing found" looks like a network problem.
 */
function explainFilters(settings: NothingFoundSettings, authKeySource: string): string[] {
  const lines: string[] = [];
  if (settings.mode === 'fernet') {
    lines.push(
      '  Fernet encryption: servers without the same secret key, and servers not in encrypted',
      '  mode, stay silent or are not believed.',
    );
  }
  if (settings.service !== undefined) {
    lines.push(`  --service ${settings.service}: servers of another service stay silent.`);
  }
  if (settings.mode === 'extended' && settings.authenticated) {
    lines.push(`  ${authKeySource}: servers without this key stay silent (or are not believed).`);
  }
  if (settings.mode === 'extended') {
    lines.push(
      '  --extended (implied by --service and --auth-key): servers of the original kind',
      '  (django-udp-discovery) do not answer extended requests and stay silent.',
    );
  }
  if (lines.length === 0) return [];
  return [
    'These filters were active; servers they leave out do not answer at all:',
    ...lines,
    'Run without them to see every server, or add --trace to see the replies that were dropped.',
  ];
}

/**
 * Every interface was skipped, so no broadcast went out: firewall or VLAN advice would be
 * wrong. Says which interfaces were skipped and why, and what to ask instead.
 */
function explainNoInterface({ skipped }: InterfaceSelection, targets: boolean): string {
  const lines = [
    `No interface was used, so no broadcast was sent${targets ? ' (only the --target addresses were asked)' : ''}.`,
  ];
  if (skipped.length === 0) lines.push('No interface with an IPv4 address is up on this host.');
  else lines.push('Skipped:');
  for (const { iface, reason } of skipped) {
    lines.push(`  ${iface.name} ${iface.address}: ${SKIP_REASONS[reason]}`);
  }
  const loopback = skipped.find(({ iface }) => iface.loopback)?.iface.name;
  if (loopback) lines.push(`To find servers on this host: beckon discover --interface ${loopback}`);
  lines.push('To ask a server on another host: beckon discover --target <ip|cidr>');
  return lines.join('\n');
}

/** The segmented-network explanation, printed once when nothing was found. */
function explainSegmented(
  findings: readonly SegmentedNetwork[],
  scan: DiscoverSettings['scan'],
): string {
  const lines = ['Segmented network: broadcasts probably reach only part of your subnet.'];
  for (const s of findings) {
    lines.push(
      `  ${s.interface} (${s.address}) is on ${s.network}: ${s.addresses} addresses, usually cut into`,
      `  ${s.segments} /24 segments by the network. A broadcast reaches only this host's own segment,`,
      `  ${s.likelyBroadcastDomain}; servers in the others cannot hear it.`,
    );
  }
  const [first] = findings;
  if (first) {
    lines.push(
      'Ask a server in another segment directly, giving its segment or its address:',
      `  ${first.fix}    (the server's segment, ${first.segmentRange})`,
      '  beckon discover --target <server-ip>',
    );
    if (scan === undefined) {
      lines.push(
        'Or scan the subnet, one request per address (see docs/beyond-one-lan.md):',
        `  ${first.scanFix}    (${describeScanTime(first.scanSeconds)}: on this host's subnet, 256 a second at most)`,
        '  beckon discover --scan auto    (scans it only when broadcast finds nothing)',
      );
    } else {
      lines.push(
        'This run scanned too: servers in other segments did not answer its unicast requests either',
        '(a responder answers off-link requesters as docs/security.md says; a firewall may drop them).',
      );
    }
  }
  return lines.join('\n');
}
