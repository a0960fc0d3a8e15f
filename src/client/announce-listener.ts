/**
 * A watcher's sockets on the announcement port (docs/presence.md): IPv4 on 0.0.0.0, which hears
 * the servers' directed broadcasts, and IPv6 on `::`, a member of beckon's group on each
 * selected link. Bound with SO_REUSEADDR, so that every watcher on a host hears every
 * announcement.
 */
import type { RemoteInfo, Socket } from 'node:dgram';
import { type Logger, logSafely } from '../logger.js';
import { IPV6_GROUP, membershipInterface6 } from '../network/multicast.js';
import { closeSocket, literalLookup, type SocketFactory } from '../network/socket.js';

/** What to listen on. */
export interface AnnounceListenerPlan {
  readonly port: number;
  readonly ipv4: boolean;
  /** IPv6 links to join beckon's group on; none: no IPv6 socket. */
  readonly links6: readonly string[];
  /**
   * Receive buffer (bytes; 0: the system's): a refresh query to a fleet brings its announcements
   * in one burst.
   */
  readonly receiveBufferSize: number;
}

/** What opening the listeners needs. */
export interface AnnounceListenerContext {
  readonly socketFactory: SocketFactory;
  readonly logger: Logger;
  /** How a socket that cannot open is logged: a watcher warns, a one-shot run notes it. */
  readonly failure: 'warn' | 'debug';
  readonly onMessage: (message: Buffer, remote: RemoteInfo) => void;
}

/**
 * Opens the sockets `plan` asks for; resolves with those that opened. One that cannot open (the
 * port held without SO_REUSEADDR, no IPv6) is a warning: the watcher then asks for unicast
 * answers instead of announcements.
 */
export async function openAnnounceListeners(
  plan: AnnounceListenerPlan,
  context: AnnounceListenerContext,
): Promise<Socket[]> {
  const opening: Promise<Socket | undefined>[] = [];
  if (plan.ipv4) opening.push(open('udp4', '0.0.0.0', plan, [], context));
  if (plan.links6.length > 0) opening.push(open('udp6', '::', plan, plan.links6, context));
  const sockets = await Promise.all(opening);
  return sockets.filter((socket): socket is Socket => socket !== undefined);
}

function open(
  type: 'udp4' | 'udp6',
  address: string,
  { port, receiveBufferSize }: AnnounceListenerPlan,
  links6: readonly string[],
  context: AnnounceListenerContext,
): Promise<Socket | undefined> {
  const family = type === 'udp6' ? 'IPv6' : 'IPv4';
  let socket: Socket;
  try {
    socket = context.socketFactory({
      type,
      reuseAddr: true,
      ...(type === 'udp6' ? { ipv6Only: true } : {}),
      ...(receiveBufferSize > 0 ? { recvBufferSize: receiveBufferSize } : {}),
      lookup: literalLookup,
    });
  } catch (error) {
    warn(context, `No ${family} socket for announcements: ${String(error)}`);
    return Promise.resolve(undefined);
  }
  return new Promise((resolve) => {
    const fail = (error: Error) => {
      warn(
        context,
        `Cannot hear ${family} announcements on port ${port} (${error.message}): servers are asked instead`,
      );
      void closeSocket(socket);
      resolve(undefined);
    };
    socket.once('error', fail);
    socket.on('message', (message, remote) => context.onMessage(message, remote));
    try {
      socket.bind({ port, address }, () => {
        socket.off('error', fail);
        // A running socket's error is a debug line: the watcher goes on asking.
        socket.on('error', (error) =>
          logSafely(context.logger, 'debug', `Announcement socket: ${error.message}`),
        );
        for (const name of links6) {
          const via = membershipInterface6(name);
          try {
            if (via !== undefined) socket.addMembership(IPV6_GROUP, via);
          } catch (error) {
            logSafely(
              context.logger,
              'debug',
              `Joining ${IPV6_GROUP} on ${name}: ${String(error)}`,
            );
          }
        }
        resolve(socket);
      });
    } catch (error) {
      fail(error as Error);
    }
  });
}

function warn(context: AnnounceListenerContext, text: string): void {
  logSafely(context.logger, context.failure, text);
}
