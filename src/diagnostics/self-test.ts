/**
 * The self-test: a responder on a free port of this host, discovered over each usable interface.
 * A broadcast sent on an interface comes back to the sender's own sockets, so this proves that
 * the interface sends, that nothing local drops the datagrams, and that beckon works here.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { discover } from '../client/discover.js';
import type { NetworkInterface } from '../network/interfaces.js';
import { decodeAnswer, encodeRequest } from '../protocol/extended.js';
import type { DropReason } from '../responder/events.js';
import { createResponder } from '../responder/responder.js';

/** How the self-test went on one interface address. */
export interface SelfTestResult {
  readonly interface: string;
  readonly address: string;
  readonly found: boolean;
  /** Round trip of the answer, when found. */
  readonly rttMs: number | undefined;
  /** Why the test responder dropped requests from this address, when it did. */
  readonly dropped: DropReason | undefined;
}

/** The self-test as a whole. */
export interface SelfTestReport {
  /** The free port the test responder used. */
  readonly port: number | undefined;
  readonly results: readonly SelfTestResult[];
  /**
   * The IPv6 round trip on loopback: an extended request from `::1` to the test responder's
   * IPv6 socket. Undefined when not tried (IPv6 off on this host).
   */
  readonly loopback6: SelfTestResult | undefined;
  /** Why the test could not run at all (no port could be bound...). */
  readonly error: string | undefined;
}

/**
 * Starts a responder on a free port, bound to every address, and discovers it over each of
 * `interfaces` in parallel, `timeoutMs` each; with `ipv6`, also asks it from `::1` to `::1`
 * (loopback only). Only the test responder can answer: requests carry a random service name.
 */
export async function runSelfTest(
  interfaces: readonly NetworkInterface[],
  options: { timeoutMs?: number; signal?: AbortSignal; ipv6?: boolean } = {},
): Promise<SelfTestReport> {
  const service = `beckon-doctor-${randomUUID()}`;
  const responder = createResponder({ port: 0, bindAddress: '0.0.0.0', env: {}, service });
  const drops = new Map<string, DropReason>();
  responder.on('drop', (event) => drops.set(event.from, event.reason));
  try {
    await responder.start(options.signal ? { signal: options.signal } : {});
  } catch (error) {
    return {
      port: undefined,
      results: [],
      loopback6: undefined,
      error: (error as Error).message,
    };
  }
  try {
    const port = responder.port ?? 0;
    const timeoutMs = options.timeoutMs ?? 1000;
    const loopback6 = options.ipv6
      ? askLoopback6(port, service, timeoutMs, options.signal).then(
          (rttMs): SelfTestResult => ({
            interface: 'lo',
            address: '::1',
            found: rttMs !== undefined,
            rttMs,
            dropped: drops.get('::1'),
          }),
        )
      : undefined;
    const results = await Promise.all(
      interfaces.map(async (iface): Promise<SelfTestResult> => {
        const [server] = await discover({
          port,
          interfaces: [`${iface.address}/32`],
          service,
          env: {},
          timeout: timeoutMs,
          retries: 2,
          maxResults: 1,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        return {
          interface: iface.name,
          address: iface.address,
          found: server !== undefined,
          rttMs: server?.rttMs,
          dropped: server ? undefined : drops.get(iface.address),
        };
      }),
    );
    return { port, results, loopback6: await loopback6, error: undefined };
  } finally {
    await responder.stop();
  }
}

/**
 * Sends an extended request for `service` from `::1` to `[::1]:port`, up to three times within
 * `timeoutMs`; resolves with the round trip of the first answer echoing its nonce, or undefined
 * (none, or no IPv6 socket could be bound).
 */
async function askLoopback6(
  port: number,
  service: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  const socket = createSocket({ type: 'udp6', ipv6Only: true });
  const nonce = randomBytes(16);
  const started = performance.now();
  const answered = new Promise<number>((resolve) => {
    socket.on('message', (message) => {
      if (decodeAnswer(message)?.nonce.equals(nonce)) resolve(performance.now() - started);
    });
  });
  socket.on('error', () => {}); // a send that fails is a missing answer, not a crash
  const timers: NodeJS.Timeout[] = [];
  let stop = () => {};
  try {
    socket.bind(0, '::1');
    await once(socket, 'listening');
    const request = encodeRequest({ nonce, timestamp: Date.now(), service });
    const rounds = 3;
    const gone = new Promise<undefined>((resolve) => {
      for (let round = 0; round < rounds; round++)
        timers.push(
          setTimeout(() => socket.send(request, port, '::1'), (round * timeoutMs) / rounds),
        );
      timers.push(setTimeout(() => resolve(undefined), timeoutMs));
      stop = () => resolve(undefined);
      signal?.addEventListener('abort', stop, { once: true });
    });
    return await Promise.race([answered, gone]);
  } catch {
    return undefined; // EADDRNOTAVAIL: no ::1 (IPv6 off on lo)
  } finally {
    for (const timer of timers) clearTimeout(timer);
    signal?.removeEventListener('abort', stop);
    try {
      socket.close();
    } catch {
      // never bound
    }
  }
}
