// The client side of bench/first-result-lab.ts, run inside the client's namespace. For each case
// (JSON in argv[2]), alternates a warm discoverOne() with the raw round trip of one request on a
// bare, bound socket, then traces one more call to list what it sends. Prints one JSON line.

import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { type DiscoverOptions, discoverOne } from '../src/index.js';
import { encodeRequest, NONCE_SIZE } from '../src/protocol/extended.js';
import { firstRoundSends } from './lib/sends.js';

/** One way to ask: discoverOne() options, and the raw request that is its floor. */
export interface LabCase {
  label: string;
  options: DiscoverOptions;
  raw: {
    /** Where the raw request goes: an address, a broadcast address or a zoned group. */
    to: string;
    request: 'plain' | 'extended';
    /** IPv6 group: `::%eth0`, the interface it leaves by. */
    multicastInterface?: string;
  };
  /** The source address discoverOne()'s result must have (the server's, with zone). */
  source: string;
}

export interface LabRequest {
  port: number;
  warmup: number;
  runs: number;
  cases: LabCase[];
}

/** Per case: the times in ms, or why it was not measured; and what one call sends. */
export type LabOutcome =
  | { label: string; ours: number[]; raw: number[]; sends: string[] }
  | { label: string; unanswered: string };

const PROBE_ATTEMPTS = 5;
const PROBE_TIMEOUT_MS = 500;
const RUN_TIMEOUT_MS = 1000;

/** A bare socket bound once, sending one request at a time and timing the first answer. */
class RawProbe {
  readonly #socket: Socket;
  readonly #spec: LabCase['raw'];
  readonly #port: number;
  #waiting: ((receivedAt: number) => void) | undefined;

  private constructor(socket: Socket, spec: LabCase['raw'], port: number) {
    this.#socket = socket;
    this.#spec = spec;
    this.#port = port;
    socket.on('message', () => this.#waiting?.(performance.now()));
  }

  static open(spec: LabCase['raw'], port: number): Promise<RawProbe> {
    const ipv6 = spec.to.includes(':');
    const socket = createSocket({ type: ipv6 ? 'udp6' : 'udp4', ipv6Only: ipv6 });
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, ipv6 ? '::' : '0.0.0.0', () => {
        if (ipv6 && spec.multicastInterface) socket.setMulticastInterface(spec.multicastInterface);
        if (!ipv6) socket.setBroadcast(true);
        resolve(new RawProbe(socket, spec, port));
      });
    });
  }

  /** One round trip in ms, or undefined after `timeoutMs` without an answer. */
  roundTrip(timeoutMs: number): Promise<number | undefined> {
    const request =
      this.#spec.request === 'plain'
        ? Buffer.from('DISCOVER_SERVER')
        : encodeRequest({ nonce: randomBytes(NONCE_SIZE), timestamp: Date.now() });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        resolve(undefined);
      }, timeoutMs);
      const sentAt = performance.now();
      this.#waiting = (receivedAt) => {
        clearTimeout(timer);
        this.#waiting = undefined;
        resolve(receivedAt - sentAt);
      };
      this.#socket.send(request, this.#port, this.#spec.to);
    });
  }

  close(): void {
    this.#socket.close();
  }
}

/** One warm discoverOne() in ms; throws when it finds nothing or the wrong server. */
async function timeDiscoverOne(c: LabCase, port: number): Promise<number> {
  const started = performance.now();
  const server = await discoverOne({ port, env: {}, timeout: RUN_TIMEOUT_MS, ...c.options });
  const elapsed = performance.now() - started;
  if (server?.source !== c.source) {
    throw new Error(`${c.label}: discoverOne() gave ${server?.source ?? 'nothing'}`);
  }
  return elapsed;
}

async function measure(c: LabCase, request: LabRequest): Promise<LabOutcome> {
  const probe = await RawProbe.open(c.raw, request.port);
  try {
    // The responder may still be picking up a new address (it polls interfaces every 250 ms).
    let answered = false;
    for (let i = 0; i < PROBE_ATTEMPTS && !answered; i++) {
      answered = (await probe.roundTrip(PROBE_TIMEOUT_MS)) !== undefined;
    }
    if (!answered)
      return { label: c.label, unanswered: `no answer to the raw request to ${c.raw.to}` };
    const ours: number[] = [];
    const raw: number[] = [];
    // Warm-up (JIT, the interface list, the responder's caches), then alternate the two so that
    // a slow spell of the machine hits both alike.
    for (let i = 0; i < request.warmup + request.runs; i++) {
      const rtt = await probe.roundTrip(RUN_TIMEOUT_MS);
      if (rtt === undefined) throw new Error(`${c.label}: raw request lost`);
      const elapsed = await timeDiscoverOne(c, request.port);
      if (i < request.warmup) continue;
      raw.push(rtt);
      ours.push(elapsed);
    }
    return {
      label: c.label,
      ours,
      raw,
      sends: await firstRoundSends({ port: request.port, timeout: RUN_TIMEOUT_MS, ...c.options }),
    };
  } finally {
    probe.close();
  }
}

const request = JSON.parse(process.argv[2] ?? '') as LabRequest;
const outcomes: LabOutcome[] = [];
for (const c of request.cases) outcomes.push(await measure(c, request));
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
