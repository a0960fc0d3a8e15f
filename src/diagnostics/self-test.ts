/**
 * The self-test: a responder on a free port of this host, discovered over each usable interface.
 * A broadcast sent on an interface comes back to the sender's own sockets, so this proves that
 * the interface sends, that nothing local drops the datagrams, and that beckon works here.
 */
import { randomUUID } from 'node:crypto';
import { discover } from '../client/discover.js';
import type { NetworkInterface } from '../network/interfaces.js';
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
  /** Why the test could not run at all (no port could be bound...). */
  readonly error: string | undefined;
}

/**
 * Starts a responder on a free port, bound to every address, and discovers it over each of
 * `interfaces` in parallel, `timeoutMs` each. Only the test responder can answer: requests
 * carry a random service name.
 */
export async function runSelfTest(
  interfaces: readonly NetworkInterface[],
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<SelfTestReport> {
  const service = `beckon-doctor-${randomUUID()}`;
  const responder = createResponder({ port: 0, bindAddress: '0.0.0.0', env: {}, service });
  const drops = new Map<string, DropReason>();
  responder.on('drop', (event) => drops.set(event.from, event.reason));
  try {
    await responder.start(options.signal ? { signal: options.signal } : {});
  } catch (error) {
    return { port: undefined, results: [], error: (error as Error).message };
  }
  try {
    const port = responder.port ?? 0;
    const results = await Promise.all(
      interfaces.map(async (iface): Promise<SelfTestResult> => {
        const [server] = await discover({
          port,
          interfaces: [`${iface.address}/32`],
          service,
          env: {},
          timeout: options.timeoutMs ?? 1000,
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
    return { port, results, error: undefined };
  } finally {
    await responder.stop();
  }
}
