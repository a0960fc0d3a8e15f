/**
 * The client's sockets: which channels a discovery run opens, and opening them. Over IPv4, one
 * per usable interface address, bound to it, sending to its broadcast address and to the IPv4
 * group; over IPv6, per usable link, one on `::` and one bound to each routable on-link prefix
 * of the link ({@link linkSources}), each sending to the IPv6 group zoned with the link's name;
 * and one per family for the unicast targets. A channel that fails is left out; the others go
 * on.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { type Logger, logSafely } from '../logger.js';
import type { NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import { groupDestination6, IPV4_GROUP, membershipInterface6 } from '../network/multicast.js';
import {
  describeInterfaces,
  SKIP_REASONS,
  type SkipReason,
  selectInterfaces,
} from '../network/select.js';
import {
  type IPv6Link,
  ipv6Links,
  LINK_SKIP_REASONS,
  type LinkSkipReason,
  selectIPv6Links,
  unmatchedAnywhere,
} from '../network/select6.js';
import { closeSocket, literalLookup, type SocketFactory } from '../network/socket.js';
import { warnOnce } from '../options.js';
import type { Via } from './addresses.js';
import type { DiscoverSettings } from './options.js';
import { resolveTargets } from './targets.js';
import type { TraceFields } from './trace.js';

/**
 * One destination of a channel. `identify`: ask so that the answer identifies its server (the
 * extended request, in plain mode too): for the groups and IPv6, which only beckon answers.
 */
export interface Destination {
  readonly to: string;
  readonly identify: boolean;
}

/** What one channel will be: its label, family, interface, bind address and destinations. */
export interface ChannelPlan {
  /** The interface name, or `targets` for the unicast targets. */
  readonly label: string;
  readonly family: 'IPv4' | 'IPv6';
  /** How what answers on it was found. */
  readonly via: Via;
  /** The IPv4 interface address it is bound to. */
  readonly iface?: NetworkInterface;
  /** The IPv6 link it sends on. */
  readonly link?: IPv6Link;
  readonly bind: string;
  readonly destinations: readonly Destination[];
  /** For `setMulticastInterface()`: the interface group requests leave by. */
  readonly multicastInterface?: string | undefined;
  /**
   * A failure to open is a debug line, not a warning: the channel of a routable IPv6 prefix
   * (an address still in duplicate address detection cannot be bound), the link's `::` channel
   * asks anyway.
   */
  readonly optional?: boolean;
}

/** One open socket and where it sends. */
export interface Channel extends ChannelPlan {
  readonly socket: Socket;
  /** When the latest request went out on it (`performance.now()`). */
  lastSend: number;
  failed: boolean;
}

/** What opening channels needs from the run. */
export interface ChannelContext {
  readonly settings: DiscoverSettings;
  readonly interfaces: readonly NetworkInterface[];
  readonly interfaces6: readonly IPv6InterfaceAddress[];
  readonly logger: Logger;
  readonly socketFactory: SocketFactory;
  readonly trace: (fields: TraceFields) => void;
  readonly onReply: (channel: Channel, message: Buffer, remote: RemoteInfo) => void;
  /**
   * With a scan: the servers it found so far, asked like targets on later rounds and refresh
   * queries (the scan's own channel sends there; the scanner sends the probes).
   */
  readonly scanDestinations?: readonly Destination[];
}

/** Plans and opens the run's channels; resolves with those that opened. */
export async function openChannels(context: ChannelContext): Promise<Channel[]> {
  warnUnmatched(context);
  const plans = [
    ...(usesIPv4(context.settings) ? planBroadcast(context) : []),
    ...(usesIPv6(context.settings) ? planLinks(context) : []),
    ...(await planTargets(context)),
    ...(context.settings.scan !== undefined && usesIPv4(context.settings)
      ? [planScan(context.scanDestinations ?? [])]
      : []),
  ];
  const opened = await Promise.all(plans.map((plan) => openChannel(plan, context)));
  return opened.filter((channel): channel is Channel => channel !== undefined);
}

/** One plan per selected interface with a broadcast address; traces every choice. */
function planBroadcast({ settings, interfaces, logger, trace }: ChannelContext): ChannelPlan[] {
  if (!settings.broadcast) return [];
  const { selected, skipped } = selectInterfaces(interfaces, settings.include, settings.exclude);
  const considered = (iface: NetworkInterface, skipped: SkipReason | undefined) =>
    trace({
      type: 'interface',
      interface: iface.name,
      address: iface.address,
      class: iface.class,
      broadcast: skipped ? undefined : iface.broadcast,
      skipped,
    });
  for (const { iface, reason } of skipped) {
    logger.debug(`Skipped ${iface.name} ${iface.address}: ${reason}`);
    considered(iface, reason);
  }
  const plans: ChannelPlan[] = [];
  for (const iface of selected) {
    considered(iface, undefined);
    if (!iface.broadcast) continue;
    // The group reaches beckon servers where broadcast is filtered. Its request identifies
    // the answerer where the run may (in plain mode the extended one, which only beckon
    // answers), so that a server also heard over IPv6 is one result; in Fernet mode or with a
    // custom message it is the run's own request. Loopback carries no multicast: there the
    // broadcast address gets both requests.
    const destinations: Destination[] = [{ to: iface.broadcast, identify: false }];
    const identify = settings.identify;
    if (!iface.loopback) destinations.push({ to: IPV4_GROUP, identify });
    else if (identify && settings.mode === 'plain') {
      destinations.push({ to: iface.broadcast, identify: true });
    }
    plans.push({
      label: iface.name,
      family: 'IPv4',
      via: 'broadcast',
      iface,
      bind: iface.address,
      destinations,
      multicastInterface: iface.address,
    });
  }
  return plans;
}

/** One plan per selected IPv6 link: the group zoned with its name (`::1` for loopback). */
function planLinks({ settings, interfaces, interfaces6, logger, trace }: ChannelContext) {
  if (!settings.broadcast) return [];
  const links = ipv6Links(interfaces6);
  const { selected, skipped } = selectIPv6Links(
    links,
    settings.includeLinks,
    settings.excludeLinks,
    interfaces,
  );
  const traced = (link: IPv6Link, group: string | undefined, skipped?: LinkSkipReason) =>
    trace({
      type: 'link',
      interface: link.name,
      addresses: link.addresses.map((a) =>
        a.kind === 'link-local' ? `${a.address}%${link.name}` : a.address,
      ),
      group,
      skipped,
    });
  for (const { link, reason } of skipped) {
    logger.debug(`Skipped IPv6 on ${link.name}: ${reason}`);
    traced(link, undefined, reason);
  }
  const plans: ChannelPlan[] = [];
  for (const link of selected) {
    const to = link.loopback ? '::1' : groupDestination6(link.name);
    traced(link, to);
    if (to === undefined) continue; // a name that cannot be a zone
    for (const bind of linkSources(link)) {
      plans.push({
        label: link.name,
        family: 'IPv6',
        via: 'multicast',
        link,
        bind,
        destinations: [{ to, identify: true }],
        multicastInterface: link.loopback ? undefined : membershipInterface6(link.name),
        optional: bind !== '::',
      });
    }
  }
  return plans;
}

/**
 * The addresses a link's group requests leave from: `::` (the kernel then picks the link's
 * link-local address, and responders answer with theirs), and on a link that is not loopback
 * the first unique-local or global address of each on-link prefix. A responder answers a
 * sender inside one of its prefixes with its own address in that prefix (`replyAddressFor6`):
 * without these requests a result would never learn a server's routable IPv6 address, the one
 * `fetch` can use (docs/ipv6.md, "URLs"). One per prefix, not per address: a SLAAC prefix with
 * stable and temporary addresses gets one request.
 */
export function linkSources(link: IPv6Link): string[] {
  const sources = ['::'];
  if (link.loopback) return sources;
  const prefixes = new Set<string>();
  for (const address of link.addresses) {
    if (address.kind !== 'unique-local' && address.kind !== 'global') continue;
    const prefix = `${address.network.network}/${address.network.prefix}`;
    if (prefixes.has(prefix)) continue;
    prefixes.add(prefix);
    sources.push(address.address);
  }
  return sources;
}

/** IPv4 is asked unless the run is IPv6 only. */
export function usesIPv4(settings: DiscoverSettings): boolean {
  return settings.family !== 'IPv6';
}

/**
 * IPv6 is asked unless the run is IPv4 only, or cannot send the extended request (Fernet mode,
 * or a custom message in plain mode: see `DiscoverSettings.identify`).
 */
export function usesIPv6(settings: DiscoverSettings): boolean {
  return settings.family !== 'IPv4' && settings.identify;
}

/**
 * A pattern that matches nothing is almost always a typo: say so rather than go quiet. A
 * pattern counts as matched when it matches an IPv4 interface or an IPv6 link.
 */
function warnUnmatched({ settings, interfaces, interfaces6, logger, trace }: ChannelContext) {
  if (!settings.broadcast) return;
  const links = ipv6Links(interfaces6);
  for (const [option, matchers, linkMatchers] of [
    ['interfaces', settings.include, settings.includeLinks],
    ['exclude', settings.exclude, settings.excludeLinks],
  ] as const) {
    for (const pattern of unmatchedAnywhere(matchers, linkMatchers, interfaces, links)) {
      if (option === 'interfaces') {
        warnOnce(
          logger,
          `Interface pattern "${pattern}" matches no interface that is up (interfaces: ${describeInterfaces(interfaces)})`,
        );
      }
      trace({ type: 'unmatched-pattern', option, pattern });
    }
  }
}

/** The unicast targets' plans (one per family), once host names are resolved. */
async function planTargets({ settings, logger, trace }: ChannelContext): Promise<ChannelPlan[]> {
  if (settings.targets.length === 0) return [];
  const family = settings.family === 'any' ? 0 : settings.family === 'IPv4' ? 4 : 6;
  const addresses = await resolveTargets(settings.targets, family, (target, error) => {
    logger.warn(`Cannot resolve target ${target}: ${String(error)}`);
    trace({ type: 'unresolved', target, error: String(error) });
  });
  const plans: ChannelPlan[] = [];
  const ipv4 = addresses.filter((a) => !a.includes(':'));
  if (ipv4.length > 0 && usesIPv4(settings)) {
    // In plain mode each target also gets the extended request: an original server ignores
    // it, and a beckon server's answer names its instance, so that the same server asked at
    // 127.0.0.1 and ::1 is one result.
    const identify = settings.mode === 'plain' && settings.identify ? [false, true] : [false];
    const destinations = ipv4.flatMap((to) => identify.map((id) => ({ to, identify: id })));
    plans.push({ label: 'targets', family: 'IPv4', via: 'target', bind: '0.0.0.0', destinations });
  }
  const ipv6 = addresses.filter((a) => a.includes(':'));
  if (ipv6.length > 0 && usesIPv6(settings)) {
    const destinations = ipv6.map((to) => ({ to, identify: true }));
    plans.push({ label: 'targets', family: 'IPv6', via: 'target', bind: '::', destinations });
  }
  return plans;
}

/** The scan socket's send buffer, asked for: the kernel caps it at twice `net.core.wmem_max`. */
const SCAN_SEND_BUFFER_SIZE = 4 << 20;

/** The scan's channel: on any address, so that probes leave by whatever route they need. */
function planScan(destinations: readonly Destination[]): ChannelPlan {
  return { label: 'scan', family: 'IPv4', via: 'scan', bind: '0.0.0.0', destinations };
}

function openChannel(plan: ChannelPlan, context: ChannelContext): Promise<Channel | undefined> {
  const { receiveBufferSize } = context.settings;
  let socket: Socket;
  try {
    socket = context.socketFactory({
      type: plan.family === 'IPv6' ? 'udp6' : 'udp4',
      ...(plan.family === 'IPv6' ? { ipv6Only: true } : {}),
      lookup: literalLookup,
      ...(receiveBufferSize > 0 ? { recvBufferSize: receiveBufferSize } : {}),
      // A probe to an on-link address that does not answer ARP stays in the send buffer until
      // the kernel gives up on it (3 s): a larger buffer lets more wait (the kernel caps it at
      // net.core.wmem_max).
      ...(plan.via === 'scan' ? { sendBufferSize: SCAN_SEND_BUFFER_SIZE } : {}),
    });
  } catch (error) {
    logSafely(context.logger, 'warn', `No socket for ${plan.label}: ${String(error)}`);
    return Promise.resolve(undefined);
  }
  const channel: Channel = { ...plan, socket, lastSend: performance.now(), failed: false };
  return new Promise((resolve) => {
    // One failing interface must not stop discovery on the others; this also runs as the
    // socket's 'error' listener, where a throwing logger must not take the host down.
    const fail = (error: Error) => {
      const text = `Socket on ${plan.label} failed: ${error.message}`;
      logSafely(context.logger, plan.optional ? 'debug' : 'warn', text);
      context.trace({ type: 'socket-error', channel: plan.label, error: error.message });
      channel.failed = true;
      void closeSocket(socket);
      resolve(undefined);
    };
    socket.on('error', fail);
    socket.on('message', (message, remote) => context.onReply(channel, message, remote));
    // With a literal lookup, bind runs synchronously: a receive buffer the system refuses
    // (ERR_SOCKET_BUFFER_SIZE) or setBroadcast throws here rather than emitting 'error'.
    try {
      socket.bind({ port: 0, address: plan.bind }, () => {
        try {
          if (plan.family === 'IPv4') socket.setBroadcast(true);
          if (plan.multicastInterface !== undefined) {
            socket.setMulticastInterface(plan.multicastInterface);
            socket.setMulticastTTL(1); // the groups are link- or site-local: never further
          }
          resolve(channel);
        } catch (error) {
          fail(error as Error);
        }
      });
    } catch (error) {
      fail(error as Error);
    }
  });
}

/**
 * Why a run has no channel, for its warning: which interfaces were skipped and why, in one
 * line. `noInterface`: broadcast was on but no interface was usable, and no target was given.
 */
export function nothingToSend(
  settings: DiscoverSettings,
  interfaces: readonly NetworkInterface[],
  interfaces6: readonly IPv6InterfaceAddress[],
): { text: string; noInterface: boolean } {
  const { selected, skipped } = usesIPv4(settings)
    ? selectInterfaces(interfaces, settings.include, settings.exclude)
    : { selected: [], skipped: [] };
  const links = usesIPv6(settings)
    ? selectIPv6Links(
        ipv6Links(interfaces6),
        settings.includeLinks,
        settings.excludeLinks,
        interfaces,
      )
    : { selected: [], skipped: [] };
  const why = [
    ...skipped.map(
      ({ iface, reason }) => `${iface.name} ${iface.address}: ${SKIP_REASONS[reason]}`,
    ),
    ...links.skipped.map(({ link, reason }) => `${link.name} (IPv6): ${LINK_SKIP_REASONS[reason]}`),
  ];
  const none = usesIPv6(settings)
    ? 'none is up with an IPv4 address or IPv6 link-local address'
    : 'none is up with an IPv4 address';
  const broadcast = !settings.broadcast
    ? 'broadcast is off'
    : selected.length + links.selected.length > 0
      ? 'no interface socket could be opened'
      : `no interface is usable (${why.join('; ') || none})`;
  const noTargets = settings.targets.length === 0;
  const targets = noTargets ? 'no targets given' : 'no target could be asked';
  return {
    text: `${broadcast}, and ${targets}`,
    noInterface: settings.broadcast && selected.length + links.selected.length === 0 && noTargets,
  };
}
