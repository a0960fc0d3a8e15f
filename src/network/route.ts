import { BoundedMap } from '../bounded-map.js';
import { createUdpSocket, type SocketFactory } from './socket.js';

/**
 * The local address the kernel would use to reach `ip`, found by connecting a UDP socket
 * (which sends nothing), or undefined when there is no route or the lookup fails in any way
 * (no socket to be had, an `error` event). Never rejects. Used for requesters outside every
 * local subnet, e.g. behind a router, and to tag replies from unicast targets. `type` `udp6`
 * for an IPv6 `ip`.
 */
export function routeSourceAddress(
  ip: string,
  socketFactory: SocketFactory = createUdpSocket,
  type: 'udp4' | 'udp6' = 'udp4',
): Promise<string | undefined> {
  return new Promise((resolve) => {
    let socket: ReturnType<SocketFactory> | undefined;
    const finish = (address: string | undefined) => {
      try {
        socket?.close();
      } catch {
        // already closed
      }
      resolve(address);
    };
    try {
      socket = socketFactory({ type });
      // A failing implicit bind (e.g. EMFILE) emits 'error' and never calls back.
      socket.once('error', () => finish(undefined));
      const connected = socket;
      connected.connect(9, ip, (error?: Error) => {
        finish(error ? undefined : connected.address().address);
      });
    } catch {
      finish(undefined);
    }
  });
}

/**
 * {@link routeSourceAddress} answers kept for `maxAgeMs` (routes change rarely; a requester
 * behind a router asks again and again, and each lookup costs a socket), at most `maxEntries`
 * of them (the oldest goes first), with concurrent lookups of one address shared.
 */
export class RouteCache {
  readonly #entries: BoundedMap<string, { at: number; address: Promise<string | undefined> }>;
  readonly #socketFactory: SocketFactory;
  readonly #maxAgeMs: number;

  constructor(socketFactory: SocketFactory = createUdpSocket, maxAgeMs = 5000, maxEntries = 1024) {
    this.#socketFactory = socketFactory;
    this.#maxAgeMs = maxAgeMs;
    this.#entries = new BoundedMap(maxEntries);
  }

  /** The local address toward `ip` (see {@link routeSourceAddress}). Never rejects. */
  lookup(
    ip: string,
    type: 'udp4' | 'udp6' = 'udp4',
    now = performance.now(),
  ): Promise<string | undefined> {
    const key = `${type} ${ip}`;
    const entry = this.#entries.get(key);
    if (entry && now - entry.at < this.#maxAgeMs) return entry.address;
    const address = routeSourceAddress(ip, this.#socketFactory, type);
    this.#entries.set(key, { at: now, address });
    return address;
  }

  /** Number of addresses kept (bounded by `maxEntries`). */
  get size(): number {
    return this.#entries.size;
  }
}
