// Host app under flood: HTTP throughput and p99 latency of an Express app with discovery
// attached (autocannon, 10 connections), without and with a UDP flood of FLOOD_RATE requests/s
// on the discovery port (bench/c/flood.c, open loop), with the responder on the app's thread
// and in a worker thread (`worker: true`), with the default rate limit (a flood from one source
// is mostly dropped) and without (every request answered). The reference is the same app
// without flood, in the same run. Then the flood alone: how much of the app's own thread the
// responder takes, on the main thread and with `worker: true`.
import { join } from 'node:path';
import autocannon from 'autocannon';
import { compile } from './lib/build.js';
import { cpuMs, median, printTable, ratio, start, startReady, stop, TSX } from './lib/process.js';

const ROUNDS = 5;
const SECONDS = 4;
const CONNECTIONS = 10;
const FLOOD_RATE = 20_000;

interface Case {
  label: string;
  thread: 'main' | 'worker';
  limit: 'limited' | 'unlimited';
  flood: boolean;
}

const CASES: readonly Case[] = [
  { label: 'no flood', thread: 'main', limit: 'limited', flood: false },
  { label: 'flood, default rate limit', thread: 'main', limit: 'limited', flood: true },
  {
    label: 'flood, default rate limit, worker: true',
    thread: 'worker',
    limit: 'limited',
    flood: true,
  },
  { label: 'flood, every request answered', thread: 'main', limit: 'unlimited', flood: true },
  {
    label: 'flood, every request answered, worker: true',
    thread: 'worker',
    limit: 'unlimited',
    flood: true,
  },
  { label: 'no flood, worker: true', thread: 'worker', limit: 'limited', flood: false },
];

interface Sample {
  rps: number;
  p99: number;
}

async function startApp(c: Pick<Case, 'thread' | 'limit'>) {
  const child = join(import.meta.dirname, 'host-app-child.ts');
  const ready = await startReady([...TSX, child, c.thread, c.limit], /^ready \d+ \d+$/);
  const [, httpPort, udpPort] = ready.words;
  return { app: ready.child, pid: ready.pid, httpPort, udpPort };
}

/** CPU of the app's main thread and of the whole app, in cores, during a flood alone. */
async function floodAlone(thread: Case['thread'], flood: string) {
  const { app, pid, udpPort } = await startApp({ thread, limit: 'unlimited' });
  try {
    const generator = start([flood, String(udpPort), String(FLOOD_RATE), String(SECONDS * 1000)]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const before = { main: cpuMs(pid, pid), all: cpuMs(pid), at: performance.now() };
    await new Promise((resolve) => setTimeout(resolve, (SECONDS - 1) * 1000));
    const ms = performance.now() - before.at;
    const result = {
      main: (cpuMs(pid, pid) - before.main) / ms,
      all: (cpuMs(pid) - before.all) / ms,
    };
    await stop(generator);
    return result;
  } finally {
    await stop(app);
  }
}

async function measure(c: Case, flood: string): Promise<Sample> {
  const { app, httpPort, udpPort } = await startApp(c);
  try {
    const url = `http://127.0.0.1:${httpPort}/`;
    await autocannon({ url, connections: CONNECTIONS, duration: 1 }); // warm-up, not counted
    const generator = c.flood
      ? start([flood, String(udpPort), String(FLOOD_RATE), String(SECONDS * 1000 + 500)])
      : undefined;
    try {
      const result = await autocannon({ url, connections: CONNECTIONS, duration: SECONDS });
      return { rps: result.requests.average, p99: result.latency.p99 };
    } finally {
      if (generator) await stop(generator);
    }
  } finally {
    await stop(app);
  }
}

export async function run(): Promise<void> {
  const flood = compile('flood');
  const samples = CASES.map(() => [] as Sample[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, c] of CASES.entries()) samples[i]?.push(await measure(c, flood));
  }
  const summary = samples.map((list) => ({
    rps: median(list.map((s) => s.rps)),
    p99: median(list.map((s) => s.p99)),
  }));
  const reference = summary[0];
  if (!reference) return;
  console.log(
    `\n## Host app under a ${FLOOD_RATE.toLocaleString('en')}/s UDP flood (Express, autocannon ${CONNECTIONS} connections, ${SECONDS} s, median of ${ROUNDS})\n`,
  );
  printTable(
    ['case', 'HTTP req/s', 'p99 ms', 'req/s vs no flood', 'p99 vs no flood'],
    CASES.map((c, i) => {
      const s = summary[i] ?? { rps: Number.NaN, p99: Number.NaN };
      return [
        c.label,
        Math.round(s.rps).toLocaleString('en'),
        String(s.p99),
        ratio(s.rps, reference.rps),
        ratio(s.p99, reference.p99),
      ];
    }),
  );

  console.log(`\n## The same flood alone, every request answered: CPU of the app, in cores\n`);
  const rows: string[][] = [];
  for (const thread of ['main', 'worker'] as const) {
    const runs = [];
    for (let round = 0; round < ROUNDS; round++) runs.push(await floodAlone(thread, flood));
    rows.push([
      thread === 'main' ? 'responder on the main thread' : 'worker: true',
      median(runs.map((r) => r.main)).toFixed(2),
      median(runs.map((r) => r.all)).toFixed(2),
    ]);
  }
  printTable(['responder', "app's main thread", 'whole app'], rows);
}
