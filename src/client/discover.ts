import type { RemoteInfo, Socket } from 'node:dgram';
import type { Clock } from '../clock.js';
import { debugLogger, type Logger } from '../logger.js';
import {
  type InterfaceProvider,
  interfaceFor,
  listInterfaces,
  type NetworkInterface,
} from '../network/interfaces.js';
import { parseIPv4 } from '../network/ipv4.js';
import { routeSourceAddress } from '../network/route.js';
import {
  describeInterfaces,
  SKIP_REASONS,
  type SkipReason,
  selectInterfaces,
  unmatchedPatterns,
} from '../network/select.js';
import {
  closeSocket,
  createUdpSocket,
  literalLookup,
  type SocketFactory,
} from '../network/socket.js';
import { warnOnce } from '../options.js';
import type { ServerMetadata } from '../protocol/extended.js';
import { describeStaleToken, skewNoticesFor } from '../security/clock-skew.js';
import {
  type DiscoverCallerOptions,
  type DiscoverOptions,
  type DiscoverSettings,
  resolveDiscoverSettings,
} from './options.js';
import { ClientProtocol } from './protocol.js';
import { retrySchedule } from './schedule.js';
import { resolveTargets } from './targets.js';
import { createTracer, type ReplyOutcome, type TraceFields } from './trace.js';

const MAX_FOREIGN_WARNINGS = 3;

/** A server that answered. */
export interface Server {
  /** The server's IPv4 address (canonical dotted decimal). */
  readonly ip: string;
  /** Its HTTP port; 8000 when the reply had none, as in the original. */
  readonly port: number;
  /** `<scheme>://ip:port`: the scheme of an extended answer, else `http`. */
  readonly url: string;
  /** The reply packet's source address: the truth about who answered. */
  readonly source: string;
  /** The reply packet's source port. */
  readonly sourcePort: number;
  /**
   * The local interface the reply came in on: the one the request was broadcast on; for a
   * unicast target, the interface whose subnet holds the reply's source, else the one holding
   * the route to it (`lo` for loopback).
   */
  readonly interface: string | undefined;
  /** Milliseconds from the latest request sent on that path to this reply. */
  readonly rttMs: number;
  /** The reply as text (decrypted in Fernet mode); base64 of the datagram for extended answers. */
  readonly raw: string;
  /** The reply claimed an IP other than its source (kept only with `acceptForeignAddresses`). */
  readonly foreign: boolean;
  /** How it was asked: the original's request, a Fernet token, or beckon's extended request. */
  readonly protocol: DiscoverSettings['mode'];
  /** The reply proved that its sender holds the key (Fernet, or a signed extended answer). */
  readonly authenticated: boolean;
  /** What the server says about itself; extended answers only. */
  readonly metadata: ServerMetadata | undefined;
}

/**
 * Discovers servers until the deadline and returns each once, in arrival order.
 *
 * @throws {InvalidOptionError} synchronously, for invalid options or environment variables.
 * @example
 * const servers = await discover({ timeout: 1500 });
 * for (const server of servers) console.log(server.url);
 */
export function discover(options: DiscoverOptions = {}): Promise<Server[]> {
  const stream = discoverStream(options);
  return (async () => {
    const servers: Server[] = [];
    for await (const server of stream) servers.push(server);
    return servers;
  })();
}

/**
 * Resolves with the first valid reply, or undefined when the deadline passes without one.
 *
 * @throws {InvalidOptionError} synchronously, for invalid options or environment variables.
 */
export function discoverOne(options: DiscoverOptions = {}): Promise<Server | undefined> {
  const stream = discoverStream(options);
  return (async () => {
    for await (const server of stream) return server;
    return undefined;
  })();
}

/**
 * Yields each server as its first reply arrives; ends at the deadline or after `maxResults`.
 * Breaking out of the loop closes the sockets at once.
 *
 * @throws {InvalidOptionError} synchronously, for invalid options or environment variables.
 * @example
 * for await (const server of discoverStream({ timeout: 3000 })) console.log(server.url);
 */
export function discoverStream(options: DiscoverOptions = {}): AsyncGenerator<Server, void> {
  const { secrets, clock, ...settings } = resolveDiscoverSettings(options);
  return runDiscovery(settings, new ClientProtocol(settings, secrets), {
    clock,
    logger: options.logger ?? debugLogger,
    socketFactory: options.socketFactory ?? createUdpSocket,
    interfaceProvider: options.interfaceProvider ?? listInterfaces,
    signal: options.signal,
    trace: createTracer(options.trace),
    explainsNoInterface: (options as DiscoverCallerOptions).explainsNoInterface === true,
  });
}

interface Dependencies {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly socketFactory: SocketFactory;
  readonly interfaceProvider: InterfaceProvider;
  readonly signal: AbortSignal | undefined;
  readonly trace: (fields: TraceFields) => void;
  /** The caller explains a run with no usable interface itself: the warning is debug then. */
  readonly explainsNoInterface: boolean;
}

/** What one channel will be: its label, interface, bind address and destinations. */
interface ChannelPlan {
  readonly label: string;
  readonly iface?: NetworkInterface;
  readonly bind: string;
  readonly destinations: string[];
}

/** One socket and where it sends: an interface's broadcast address, or the unicast targets. */
interface Channel extends ChannelPlan {
  readonly socket: Socket;
  lastSend: number;
  failed: boolean;
}

async function* runDiscovery(
  settings: DiscoverSettings,
  protocol: ClientProtocol,
  deps: Dependencies,
): AsyncGenerator<Server, void> {
  const { logger, signal, trace } = deps;
  signal?.throwIfAborted();
  const interfaces = deps.interfaceProvider();
  const found = new Set<string>();
  let foreignWarnings = 0;
  const queue: (Server | Promise<Server>)[] = [];
  const timers: NodeJS.Timeout[] = [];
  let channels: Channel[] = [];
  let finished = false;
  let failure: { error: unknown } | undefined;
  let wake = () => {};
  let markEnded = () => {};
  const ended = new Promise<undefined>((resolve) => {
    markEnded = () => resolve(undefined);
  });
  // Closing happens as soon as discovery ends, not only when the consumer returns: an
  // abandoned iterator must not keep sockets open.
  const close = (
    reason: 'deadline' | 'max-results' | 'aborted' | 'nothing-to-send' | 'returned',
  ) => {
    if (finished) return;
    trace({ type: 'end', reason, found: found.size });
    finished = true;
    for (const timer of timers) clearTimeout(timer);
    for (const channel of channels) void closeSocket(channel.socket);
    markEnded();
    wake();
  };
  const onAbort = () => close('aborted');

  const onReply = (channel: Channel, message: Buffer, remote: RemoteInfo) => {
    try {
      handleReply(channel, message, remote);
    } catch (error) {
      // The handler calls user code (the clock, the trace callback, the logger): whatever it
      // throws must not take the host process down from inside a socket event.
      try {
        logger.warn(`Unexpected error handling a reply: ${String(error)}`);
      } catch {
        // a logger that throws has nowhere left to report to
      }
    }
  };

  const handleReply = (channel: Channel, message: Buffer, remote: RemoteInfo) => {
    const traced = (outcome: ReplyOutcome, claims?: string) =>
      trace({
        type: 'reply',
        channel: channel.label,
        from: remote.address,
        fromPort: remote.port,
        bytes: message.length,
        outcome,
        claims,
      });
    if (finished) return traced('too-late');
    const reply = protocol.parse(message, deps.clock.now());
    if ('drop' in reply) {
      logger.debug(`Ignored a reply from ${remote.address}:${remote.port}: ${reply.drop}`);
      traced(reply.drop);
      if (reply.skewMs !== undefined) reportStale(channel.label, remote, reply.skewMs);
      return;
    }
    const key = `${reply.ip}:${reply.port}`;
    const foreign = reply.ip !== remote.address;
    if (foreign && !settings.acceptForeignAddresses) {
      // A few warnings explain the problem; a flood of spoofed replies must not flood the log.
      const log = foreignWarnings++ < MAX_FOREIGN_WARNINGS ? logger.warn : logger.debug;
      log.call(logger, `Dropped a reply from ${remote.address} claiming to be ${reply.ip}`);
      return traced('foreign', key);
    }
    if (found.has(key)) return traced('duplicate', key);
    found.add(key);
    traced('accepted', key);
    const source = parseIPv4(remote.address);
    const server: Server = {
      ip: reply.ip,
      port: reply.port,
      url: `${reply.metadata?.scheme ?? 'http'}://${reply.ip}:${reply.port}`,
      source: remote.address,
      sourcePort: remote.port,
      interface:
        channel.iface?.name ??
        (source === undefined ? undefined : interfaceFor(source, interfaces)?.name),
      rttMs: Math.round((performance.now() - (reply.sentAt ?? channel.lastSend)) * 100) / 100,
      raw: reply.raw,
      foreign,
      protocol: settings.mode,
      authenticated: settings.authenticated,
      metadata: reply.metadata,
    };
    // A target beyond a router (or on loopback) is in no local subnet: ask the route instead.
    queue.push(
      server.interface === undefined
        ? routeInterface(remote.address, interfaces, deps.socketFactory).then((name) => ({
            ...server,
            interface: name,
          }))
        : server,
    );
    if (found.size >= settings.maxResults) close('max-results');
    wake();
  };

  /** A reply with the key but outside the window: traced every time, logged once a minute. */
  const reportStale = (channel: string, remote: RemoteInfo, skewMs: number) => {
    const { address: from, port: fromPort } = remote;
    const windowMs = settings.replayWindow;
    trace({ type: 'clock-skew', channel, from, fromPort, skewMs, windowMs });
    if (!skewNoticesFor(logger).allow(`${from}:${fromPort}`, performance.now())) return;
    const token = { kind: 'reply', from: `${from}:${fromPort}`, encrypted: true } as const;
    const protectionOptional = true; // only Fernet replies carry a time
    logger.warn(describeStaleToken({ ...token, skewMs, windowMs, protectionOptional }));
  };

  let round = 0;
  const sendRound = () => {
    round++;
    for (const channel of channels) {
      if (channel.failed) continue;
      channel.lastSend = performance.now();
      const request = protocol.request(deps.clock.now());
      const sent = { type: 'send', channel: channel.label, port: settings.port, round } as const;
      for (const to of channel.destinations) {
        channel.socket.send(request, settings.port, to, (error) => {
          if (error) logger.warn(`Sending on ${channel.label} to ${to} failed: ${error.message}`);
          trace({ ...sent, from: channel.bind, to, bytes: request.length, error: error?.message });
        });
      }
    }
  };

  timers.push(setTimeout(() => close('deadline'), settings.timeout));
  signal?.addEventListener('abort', onAbort, { once: true });
  // Host-name lookups cannot be cancelled: stop waiting for them at the deadline or abort.
  const opening = openChannels(settings, interfaces, deps, onReply);
  try {
    const opened = await Promise.race([opening, ended]);
    if (opened === undefined) {
      opening.then(
        (late) => late.forEach((c) => void closeSocket(c.socket)),
        () => {},
      );
    } else if (finished) {
      for (const channel of opened) void closeSocket(channel.socket);
    } else {
      channels = opened;
      if (channels.length === 0) {
        const why = nothingToSend(settings, interfaces);
        if (why.noInterface && deps.explainsNoInterface) {
          logger.debug(`Nothing to send to: ${why.text}`);
        } else logger.warn(`Nothing to send to: ${why.text}`);
        close('nothing-to-send');
      } else {
        // The first round goes out now: even setTimeout(0) would cost a millisecond.
        for (const at of retrySchedule(settings.retries, settings.timeout)) {
          if (at === 0) sendRound();
          else timers.push(setTimeout(sendRound, at));
        }
      }
    }
  } catch (error) {
    failure = { error };
  }

  try {
    while (true) {
      signal?.throwIfAborted();
      const next = queue.shift();
      if (next) {
        yield await next;
        continue;
      }
      if (failure) throw failure.error;
      if (finished) return;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  } finally {
    close('returned');
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Why a run has no channel, for its warning: which interfaces were skipped and why, in one
 * line. `noInterface`: broadcast was on but no interface was usable, and no target was given.
 */
function nothingToSend(settings: DiscoverSettings, interfaces: readonly NetworkInterface[]) {
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

/** The interface holding the local address of the route to `ip`, if any. */
async function routeInterface(
  ip: string,
  interfaces: readonly NetworkInterface[],
  socketFactory: SocketFactory,
): Promise<string | undefined> {
  try {
    const local = await routeSourceAddress(ip, socketFactory);
    return interfaces.find((iface) => iface.address === local)?.name;
  } catch {
    return undefined; // a tag is not worth losing the server over
  }
}

/** Opens one socket per selected interface (bound to its address) and one for the targets. */
async function openChannels(
  settings: DiscoverSettings,
  interfaces: readonly NetworkInterface[],
  deps: Dependencies,
  onReply: (channel: Channel, message: Buffer, remote: RemoteInfo) => void,
): Promise<Channel[]> {
  const { logger, trace } = deps;
  const plans: ChannelPlan[] = [];
  if (settings.broadcast) {
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
    for (const iface of selected) {
      considered(iface, undefined);
      if (iface.broadcast)
        plans.push({
          label: iface.name,
          iface,
          bind: iface.address,
          destinations: [iface.broadcast],
        });
    }
  }
  if (settings.targets.length > 0) {
    const addresses = await resolveTargets(settings.targets, (target, error) => {
      logger.warn(`Cannot resolve target ${target}: ${String(error)}`);
      trace({ type: 'unresolved', target, error: String(error) });
    });
    if (addresses.length > 0)
      plans.push({ label: 'targets', bind: '0.0.0.0', destinations: addresses });
  }
  const opened = await Promise.all(
    plans.map((plan) => openChannel(plan, settings.receiveBufferSize, deps, onReply)),
  );
  return opened.filter((channel): channel is Channel => channel !== undefined);
}

function openChannel(
  plan: ChannelPlan,
  receiveBufferSize: number,
  deps: Dependencies,
  onReply: (channel: Channel, message: Buffer, remote: RemoteInfo) => void,
): Promise<Channel | undefined> {
  const socket = deps.socketFactory({
    type: 'udp4',
    lookup: literalLookup,
    ...(receiveBufferSize > 0 ? { recvBufferSize: receiveBufferSize } : {}),
  });
  const channel: Channel = { ...plan, socket, lastSend: performance.now(), failed: false };
  return new Promise((resolve) => {
    // One failing interface must not stop discovery on the others.
    const fail = (error: Error) => {
      deps.logger.warn(`Socket on ${plan.label} failed: ${error.message}`);
      deps.trace({ type: 'socket-error', channel: plan.label, error: error.message });
      channel.failed = true;
      void closeSocket(socket);
      resolve(undefined);
    };
    socket.on('error', fail);
    socket.on('message', (message, remote) => onReply(channel, message, remote));
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
