/**
 * The client's sockets: which channels a discovery run opens (one per usable interface, bound to
 * its address and sending to its broadcast address, and one for the unicast targets), and
 * opening them. A channel that fails is left out; the others go on.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import type { Logger } from '../logger.js';
import type { NetworkInterface } from '../network/interfaces.js';
import {
  describeInterfaces,
  SKIP_REASONS,
  type SkipReason,
  selectInterfaces,
  unmatchedPatterns,
} from '../network/select.js';
import { closeSocket, literalLookup, type SocketFactory } from '../network/socket.js';
import { warnOnce } from '../options.js';
import type { DiscoverSettings } from './options.js';
import { resolveTargets } from './targets.js';
import type { TraceFields } from './trace.js';

/** What one channel will be: its label, interface, bind address and destinations. */
export interface ChannelPlan {
  /** The interface name, or `targets` for the unicast targets. */
  readonly label: string;
  readonly iface?: NetworkInterface;
  readonly bind: string;
  readonly destinations: readonly string[];
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
  readonly logger: Logger;
  readonly socketFactory: SocketFactory;
  readonly trace: (fields: TraceFields) => void;
  readonly onReply: (channel: Channel, message: Buffer, remote: RemoteInfo) => void;
}

/** Plans and opens the run's channels; resolves with those that opened. */
export async function openChannels(context: ChannelContext): Promise<Channel[]> {
  const plans = [...planBroadcast(context), ...(await planTargets(context))];
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
  // A pattern that matches nothing is almost always a typo: say so rather than go quiet.
  for (const [option, matchers] of [
    ['interfaces', settings.include],
    ['exclude', settings.exclude],
  ] as const) {
    for (const pattern of unmatchedPatterns(interfaces, matchers)) {
      if (option === 'interfaces') {
        warnOnce(
          logger,
          `Interface pattern "${pattern}" matches no interface that is up (interfaces: ${describeInterfaces(interfaces)})`,
        );
      }
      trace({ type: 'unmatched-pattern', option, pattern });
    }
  }
  for (const { iface, reason } of skipped) {
    logger.debug(`Skipped ${iface.name} ${iface.address}: ${reason}`);
    considered(iface, reason);
  }
  const plans: ChannelPlan[] = [];
  for (const iface of selected) {
    considered(iface, undefined);
    if (iface.broadcast) {
      plans.push({
        label: iface.name,
        iface,
        bind: iface.address,
        destinations: [iface.broadcast],
      });
    }
  }
  return plans;
}

/** The unicast targets' plan, once host names are resolved; none when nothing resolved. */
async function planTargets({ settings, logger, trace }: ChannelContext): Promise<ChannelPlan[]> {
  if (settings.targets.length === 0) return [];
  const addresses = await resolveTargets(settings.targets, (target, error) => {
    logger.warn(`Cannot resolve target ${target}: ${String(error)}`);
    trace({ type: 'unresolved', target, error: String(error) });
  });
  return addresses.length > 0
    ? [{ label: 'targets', bind: '0.0.0.0', destinations: addresses }]
    : [];
}

function openChannel(plan: ChannelPlan, context: ChannelContext): Promise<Channel | undefined> {
  const { receiveBufferSize } = context.settings;
  const socket = context.socketFactory({
    type: 'udp4',
    lookup: literalLookup,
    ...(receiveBufferSize > 0 ? { recvBufferSize: receiveBufferSize } : {}),
  });
  const channel: Channel = { ...plan, socket, lastSend: performance.now(), failed: false };
  return new Promise((resolve) => {
    // One failing interface must not stop discovery on the others.
    const fail = (error: Error) => {
      context.logger.warn(`Socket on ${plan.label} failed: ${error.message}`);
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
          socket.setBroadcast(true);
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
): { text: string; noInterface: boolean } {
  const { selected, skipped } = selectInterfaces(interfaces, settings.include, settings.exclude);
  const why = skipped.map(
    ({ iface, reason }) => `${iface.name} ${iface.address}: ${SKIP_REASONS[reason]}`,
  );
  const broadcast = !settings.broadcast
    ? 'broadcast is off'
    : selected.length > 0
      ? 'no interface socket could be opened'
      : `no interface is usable (${why.join('; ') || 'none is up with an IPv4 address'})`;
  const noTargets = settings.targets.length === 0;
  const targets = noTargets ? 'no targets given' : 'no target could be asked';
  return {
    text: `${broadcast}, and ${targets}`,
    noInterface: settings.broadcast && selected.length === 0 && noTargets,
  };
}
