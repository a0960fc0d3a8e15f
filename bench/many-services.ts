// Many services on one host (issue 16, docs/many-services.md): what sharing the discovery port
// costs. Every responder is a real `beckon serve` process (the built CLI) on a fresh free UDP
// port, bound to 127.0.0.1, with no groups, no rate limit and no per-reply log; every request is
// sent to 127.0.0.1 from one socket of this process.
//
// 1. Takeover after SIGKILL: an answering process and a registered one; SIGKILL the answering
//    one, then time until a plain request is answered again with the survivor's record. The
//    reference, measured in the same runs: cold start, from spawning the answering process to
//    its first answer.
// 2. A dead record: a registered process is SIGKILLed; time until the answers no longer carry
//    its record.
// 3. CPU per request of the answering process with 1, 10 and 100 records (its own and those
//    registered over the host channel from this process with HostRegistrant), for plain and
//    extended requests, as a ratio to 1 record.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { join } from 'node:path';
import { channelPath } from '../src/host/channel.js';
import { HostLimits } from '../src/host/records.js';
import { HostRegistrant } from '../src/host/registrant.js';
import * as extended from '../src/protocol/extended.js';
import {
  cpuPreciseMs,
  firstLine,
  median,
  printTable,
  ROOT,
  ratio,
  start,
  stop,
} from './lib/process.js';

const RUNS = 20;
/** While waiting for an answer, a plain request goes out every POLL_MS. */
const POLL_MS = 1;
/** An answer (or a record gone) not seen within WAIT_MS fails the benchmark. */
const WAIT_MS = 5000;
/** Quiet time before a SIGKILL, so that no reply to an earlier request is still on its way. */
const DRAIN_MS = 20;
const CPU_ROUNDS = 3;
const CPU_REQUESTS = 1000;
const CPU_WARMUP = 200;
/** One request at a time; a request whose replies are not all in after this is given up. */
const STALL_MS = 1000;
/** A CPU case stops after this, however many requests it sent. */
const CPU_CASE_MAX_MS = 15_000;
const RECORD_COUNTS = [1, 10, 100] as const;

const CLI = [process.execPath, join(ROOT, 'bin', 'beckon.js')] as const;
/** Nothing from the caller's DISCOVERY_* environment; ENABLE_LOGGING=false: no line per reply. */
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', ENABLE_LOGGING: 'false' };
const PLAIN = Buffer.from('DISCOVER_SERVER');
const OWN_HTTP_PORT = 8001;
const OTHER_HTTP_PORT = 8002;
const plainReply = (httpPort: number) => `SERVER_IP:127.0.0.1:${httpPort}`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `beckon serve` on 127.0.0.1:`port` for `service` at `httpPort`. */
function serve(port: number, httpPort: number, service: string) {
  return start(
    [
      ...CLI,
      'serve',
      ...['--port', String(port), '--bind-address', '127.0.0.1', '--no-groups'],
      ...['--rate-limit', '0', '--http-port', String(httpPort), '--service', service],
    ],
    // It warns on stderr that a unicast bind gets no broadcasts: expected here.
    { env: ENV, stderr: 'ignore' },
  );
}

/** Waits for the CLI's `[OK]` line and checks that it registered with the answering process. */
async function registered(child: ReturnType<typeof serve>): Promise<void> {
  const line = await firstLine(child, /^\[OK\] /);
  if (!line.startsWith('[OK] Registered')) throw new Error(`did not register: ${line}`);
}

/** A UDP port on loopback that was free a moment ago (an ephemeral, high port). */
async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  socket.close();
  return port;
}

/** The asking socket, on 127.0.0.1; replies go to whichever wait is current. */
class Prober {
  readonly #socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
  #onReply: ((reply: Buffer) => void) | undefined;

  async open(): Promise<void> {
    this.#socket.on('message', (reply) => this.#onReply?.(reply));
    this.#socket.on('error', () => {}); // nothing sent here can fail for long; the waits time out
    this.#socket.bind(0, '127.0.0.1');
    await once(this.#socket, 'listening');
  }

  /** Hands every reply to `onReply` from now on (undefined: ignores them). */
  listen(onReply: ((reply: Buffer) => void) | undefined): void {
    this.#onReply = onReply;
  }

  send(port: number, datagram: Buffer): void {
    this.#socket.send(datagram, port, '127.0.0.1');
  }

  close(): void {
    this.#socket.close();
  }
}

/**
 * Sends a plain request every POLL_MS until the reply `wanted` comes; resolves with the time from
 * `since` to that reply (to within POLL_MS plus a round trip).
 */
function untilAnswered(prober: Prober, port: number, wanted: string, since: number) {
  return new Promise<number>((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearInterval(ask);
      clearTimeout(timer);
      prober.listen(undefined);
      settle();
    };
    prober.listen((reply) => {
      const at = performance.now();
      if (String(reply) === wanted) finish(() => resolve(at - since));
    });
    const ask = setInterval(() => prober.send(port, PLAIN), POLL_MS);
    const timer = setTimeout(
      () => finish(() => reject(new Error(`port ${port}: no ${wanted} within ${WAIT_MS} ms`))),
      WAIT_MS,
    );
    prober.send(port, PLAIN);
  });
}

/**
 * Resolves with the time from `since` to the first plain request answered without `dead`. One
 * request at a time: the answering process replies for its own record (`own`) first, then for
 * the others, in order, so the replies between two `own` replies answer one request; the next
 * request goes out when `own` comes. The time is that request's sending (to within a round trip).
 */
function untilGone(prober: Prober, port: number, own: string, dead: string, since: number) {
  return new Promise<number>((resolve, reject) => {
    let sentAt = 0;
    let answeredAt: number | undefined; // when the request whose replies are arriving was sent
    let sawDead = false;
    const finish = (settle: () => void) => {
      clearTimeout(resend);
      clearTimeout(timer);
      prober.listen(undefined);
      settle();
    };
    const ask = () => {
      sentAt = performance.now();
      prober.send(port, PLAIN);
      resend.refresh();
    };
    prober.listen((reply) => {
      const text = String(reply);
      if (text === dead) sawDead = true;
      if (text !== own) return;
      // The previous request's replies are all in: was the dead record among them?
      if (answeredAt !== undefined && !sawDead) {
        const gone = answeredAt - since;
        finish(() => resolve(gone));
        return;
      }
      answeredAt = sentAt;
      sawDead = false;
      ask();
    });
    const resend = setTimeout(ask, STALL_MS); // a lost reply: ask again
    const timer = setTimeout(
      () =>
        finish(() => reject(new Error(`port ${port}: ${dead} still answered after ${WAIT_MS} ms`))),
      WAIT_MS,
    );
    ask();
  });
}

/** One takeover run on a fresh port: [cold start ms, takeover ms]. */
async function takeover(prober: Prober): Promise<[number, number]> {
  const port = await freeUdpPort();
  const spawned = performance.now();
  const answering = serve(port, OWN_HTTP_PORT, 'orders');
  try {
    const cold = await untilAnswered(prober, port, plainReply(OWN_HTTP_PORT), spawned);
    const survivor = serve(port, OTHER_HTTP_PORT, 'users');
    try {
      await registered(survivor);
      // Its record is answered by the first process before that one is killed.
      await untilAnswered(prober, port, plainReply(OTHER_HTTP_PORT), performance.now());
      await sleep(DRAIN_MS);
      const killed = performance.now();
      answering.kill('SIGKILL');
      return [cold, await untilAnswered(prober, port, plainReply(OTHER_HTTP_PORT), killed)];
    } finally {
      await stop(survivor);
    }
  } finally {
    await stop(answering);
  }
}

/** RUNS registered processes SIGKILLed one after the other beside one answering process. */
async function deadRecords(prober: Prober): Promise<number[]> {
  const port = await freeUdpPort();
  const answering = serve(port, OWN_HTTP_PORT, 'orders');
  const own = plainReply(OWN_HTTP_PORT);
  const other = plainReply(OTHER_HTTP_PORT);
  try {
    await untilAnswered(prober, port, own, performance.now());
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const victim = serve(port, OTHER_HTTP_PORT, 'users');
      try {
        await registered(victim);
        await untilAnswered(prober, port, other, performance.now());
        await sleep(DRAIN_MS);
        const killed = performance.now();
        victim.kill('SIGKILL');
        times.push(await untilGone(prober, port, own, other, killed));
      } finally {
        await stop(victim);
      }
    }
    return times;
  } finally {
    await stop(answering);
  }
}

/**
 * Sends `requests` one at a time, each when the `perRequest` replies to the previous one are in
 * (or after STALL_MS). Bounded by CPU_CASE_MAX_MS.
 */
function drive(prober: Prober, port: number, requests: readonly Buffer[], perRequest: number) {
  return new Promise<{ sent: number; lost: number }>((resolve) => {
    let sent = 0;
    let replies = 0;
    let lost = 0;
    const until = performance.now() + CPU_CASE_MAX_MS;
    const finish = () => {
      clearTimeout(stall);
      prober.listen(undefined);
      resolve({ sent, lost });
    };
    const next = () => {
      const request = requests[sent];
      if (request === undefined || performance.now() > until) return finish();
      sent++;
      replies = 0;
      prober.send(port, request);
      stall.refresh();
    };
    const stall = setTimeout(() => {
      lost += Math.max(0, perRequest - replies);
      next();
    }, STALL_MS);
    prober.listen(() => {
      if (++replies === perRequest) next();
    });
    next();
  });
}

const extendedRequest = () =>
  extended.encodeRequest({ nonce: randomBytes(extended.NONCE_SIZE), timestamp: Date.now() });

interface CpuSample {
  plain: number;
  extended: number;
  lost: number;
}

/** µs of the answering process's CPU per request, with `records` records on the host. */
async function cpuCase(prober: Prober, records: number): Promise<CpuSample> {
  const port = await freeUdpPort();
  const answering = serve(port, OWN_HTTP_PORT, 'own');
  const registrants: HostRegistrant[] = [];
  try {
    await untilAnswered(prober, port, plainReply(OWN_HTTP_PORT), performance.now());
    const pid = answering.pid;
    if (pid === undefined) throw new Error('the answering process has no pid');
    for (let i = 0; i < records - 1; i++) {
      if (i % HostLimits.recordsPerConnection === 0) {
        const registrant = new HostRegistrant({ path: channelPath(port) });
        await registrant.connect();
        registrants.push(registrant);
      }
      // Distinct services on distinct HTTP ports: one plain reply each.
      await registrants.at(-1)?.register({
        instanceId: `bench-${i}`,
        service: `service-${i}`,
        httpPort: 20_000 + i,
        pid: process.pid,
      });
    }
    const sample: CpuSample = { plain: 0, extended: 0, lost: 0 };
    for (const kind of ['plain', 'extended'] as const) {
      // Made beforehand: the next request goes out as soon as the replies are in, whatever the kind.
      const make = (count: number) =>
        Array.from({ length: count }, kind === 'plain' ? () => PLAIN : extendedRequest);
      // Every record answers: one request, all its replies, or the case is wrong.
      const check = await drive(prober, port, make(1), records);
      if (check.lost > 0) {
        throw new Error(`${kind}: ${records - check.lost} replies, not ${records}`);
      }
      await drive(prober, port, make(CPU_WARMUP), records);
      const requests = make(CPU_REQUESTS);
      const before = cpuPreciseMs(pid);
      const { sent, lost } = await drive(prober, port, requests, records);
      sample[kind] = ((cpuPreciseMs(pid) - before) * 1000) / sent;
      sample.lost += lost;
    }
    return sample;
  } finally {
    for (const registrant of registrants) registrant.close();
    await stop(answering);
  }
}

const ms = (value: number) => value.toFixed(1);

export async function run(): Promise<void> {
  const prober = new Prober();
  await prober.open();
  try {
    const began = performance.now();
    const cold: number[] = [];
    const takeovers: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const [coldMs, takeoverMs] = await takeover(prober);
      cold.push(coldMs);
      takeovers.push(takeoverMs);
    }
    const gone = await deadRecords(prober);
    const reference = median(cold);
    console.log(
      `\n## Many services on one host: failover, \`beckon serve\` processes on loopback (${RUNS} runs each)\n`,
    );
    printTable(
      ['measure', 'median ms', 'worst ms', 'median vs cold start', 'bound (issue 16)'],
      [
        [
          'cold start: spawn to first answer (reference)',
          ms(reference),
          ms(Math.max(...cold)),
          '1.00x',
          '',
        ],
        [
          "takeover: SIGKILL of the answering process to the survivor's record answered",
          ms(median(takeovers)),
          ms(Math.max(...takeovers)),
          ratio(median(takeovers), reference),
          '1000 ms',
        ],
        [
          'dead record: SIGKILL of a registered process to its record gone from the answers',
          ms(median(gone)),
          ms(Math.max(...gone)),
          ratio(median(gone), reference),
          '2000 ms',
        ],
      ],
    );
    const sorted = (values: number[]) =>
      [...values]
        .sort((a, b) => a - b)
        .map((value) => value.toFixed(0))
        .join(' ');
    console.log(`\nEach run, ms, sorted: cold start ${sorted(cold)}`);
    console.log(`takeover ${sorted(takeovers)}`);
    console.log(`dead record ${sorted(gone)}`);
    console.log(
      `(${((performance.now() - began) / 1000).toFixed(0)} s; each time to within ${POLL_MS} ms of polling plus a loopback round trip)`,
    );

    const samples = new Map<number, CpuSample[]>(RECORD_COUNTS.map((n) => [n, []]));
    for (let round = 0; round < CPU_ROUNDS; round++) {
      for (const records of RECORD_COUNTS)
        samples.get(records)?.push(await cpuCase(prober, records));
    }
    const summary = (records: number) => {
      const list = samples.get(records) ?? [];
      return {
        plain: median(list.map((s) => s.plain)),
        extended: median(list.map((s) => s.extended)),
        lost: list.reduce((sum, s) => sum + s.lost, 0),
      };
    };
    const one = summary(1);
    console.log(
      `\n## Many services on one host: CPU of the answering process per request (${CPU_REQUESTS} requests one at a time, median of ${CPU_ROUNDS})\n`,
    );
    printTable(
      [
        'records',
        'plain µs/request',
        'plain vs 1 record',
        'extended µs/request',
        'extended vs 1 record',
        'replies lost',
      ],
      RECORD_COUNTS.map((records) => {
        const s = summary(records);
        return [
          String(records),
          s.plain.toFixed(1),
          ratio(s.plain, one.plain),
          s.extended.toFixed(1),
          ratio(s.extended, one.extended),
          String(s.lost),
        ];
      }),
    );
    const most = summary(RECORD_COUNTS[RECORD_COUNTS.length - 1] ?? 1);
    const extra = RECORD_COUNTS[RECORD_COUNTS.length - 1] ?? 1;
    console.log(
      `\nEach record past the first: ${((most.plain - one.plain) / (extra - 1)).toFixed(1)} µs per plain request, ${((most.extended - one.extended) / (extra - 1)).toFixed(1)} µs per extended request.`,
    );
  } finally {
    prober.close();
  }
}
