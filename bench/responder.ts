// Responder throughput: replies/s and CPU per reply of our responder (on the main thread and
// with `worker: true`) against a Python listener shaped like the original django-udp-discovery
// server and a C recvmmsg/sendmmsg responder (the practical ceiling), all driven by the same C
// load generator on loopback, in the same run. Then memory under 10 s of sustained load.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from './lib/build.js';
import {
  cpuMs,
  firstLine,
  median,
  printTable,
  ratio,
  rssKiB,
  start,
  startReady,
  stop,
  TSX,
} from './lib/process.js';

const ROUNDS = 3;
const LOAD_MS = 2000;
const SUSTAINED_MS = 10_000;

// Debian's Python, as in the tests; BECKON_PYTHON picks another.
const python =
  process.env.BECKON_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const here = import.meta.dirname;

interface Implementation {
  name: string;
  command: readonly [string, ...string[]];
}

interface Sample {
  rate: number;
  cpuMsPer1k: number;
  lossPercent: number;
}

/** Runs the load generator against `port` for `ms` and returns its JSON result. */
async function load(
  loadGenerator: string,
  port: string,
  ms: number,
): Promise<{ rate: number; total: number; sent: number }> {
  const child = start([loadGenerator, port, String(ms), '16', '32']);
  const line = await firstLine(child, /^\{/, ms + 10_000);
  return JSON.parse(line);
}

async function startServer(implementation: Implementation) {
  const ready = await startReady(implementation.command, /(?:^ready|started on port) \d+$/);
  return { server: ready.child, pid: ready.pid, port: ready.words.at(-1) ?? '' };
}

async function measure(implementation: Implementation, loadGenerator: string): Promise<Sample> {
  const { server, pid, port } = await startServer(implementation);
  try {
    const before = cpuMs(pid);
    const result = await load(loadGenerator, port, LOAD_MS);
    const after = cpuMs(pid);
    if (result.total === 0) throw new Error(`${implementation.name} sent no replies`);
    return {
      rate: result.rate,
      cpuMsPer1k: ((after - before) * 1000) / result.total,
      lossPercent: (1 - result.total / result.sent) * 100,
    };
  } finally {
    await stop(server);
  }
}

/** RSS every second during sustained load: [at start of load, at end]. */
async function sustained(implementation: Implementation, loadGenerator: string) {
  const { server, pid, port } = await startServer(implementation);
  try {
    const samples: number[] = [rssKiB(pid)];
    const timer = setInterval(() => samples.push(rssKiB(pid)), 1000);
    const result = await load(loadGenerator, port, SUSTAINED_MS);
    clearInterval(timer);
    samples.push(rssKiB(pid));
    return { samples, replies: result.total };
  } finally {
    await stop(server);
  }
}

export async function run(): Promise<void> {
  const loadGenerator = compile('load');
  const child = join(here, 'responder-child.ts');
  const implementations: Implementation[] = [
    {
      name: 'Python (original-like)',
      command: [
        python,
        // Bound to loopback; it replies with this machine's default-route address, as the
        // original does, but only ever to the load generator on loopback.
        join(here, '../test/peers/original_server.py'),
        ...['--port', '0', '--bind', '127.0.0.1', '--quiet'],
      ],
    },
    { name: 'beckon', command: [...TSX, child] },
    { name: 'beckon, worker: true', command: [...TSX, child, '--worker'] },
    { name: 'C recvmmsg (ceiling)', command: [compile('responder'), '0'] },
  ];

  console.log(`\n## Responder throughput (median of ${ROUNDS} rounds of ${LOAD_MS} ms)\n`);
  const samples = new Map<string, Sample[]>(implementations.map((i) => [i.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const implementation of implementations) {
      samples.get(implementation.name)?.push(await measure(implementation, loadGenerator));
    }
  }
  const summary = (name: string) => {
    const list = samples.get(name) ?? [];
    return {
      rate: median(list.map((s) => s.rate)),
      cpu: median(list.map((s) => s.cpuMsPer1k)),
      loss: median(list.map((s) => s.lossPercent)),
    };
  };
  const reference = summary('Python (original-like)');
  printTable(
    [
      'responder',
      'replies/s',
      'CPU ms per 1k replies',
      'lost',
      'replies/s vs Python',
      'CPU/reply vs Python',
    ],
    implementations.map(({ name }) => {
      const s = summary(name);
      return [
        name,
        Math.round(s.rate).toLocaleString('en'),
        s.cpu.toFixed(2),
        `${s.loss.toFixed(1)}%`,
        ratio(s.rate, reference.rate),
        ratio(s.cpu, reference.cpu),
      ];
    }),
  );

  console.log(`\n## Responder memory (RSS during ${SUSTAINED_MS / 1000} s of saturating load)\n`);
  const rows: string[][] = [];
  for (const implementation of implementations.slice(1, 3)) {
    const { samples: rss, replies } = await sustained(implementation, loadGenerator);
    const mib = (kib: number) => (kib / 1024).toFixed(1);
    const loaded = rss.slice(2); // after the first second of load
    rows.push([
      implementation.name,
      replies.toLocaleString('en'),
      mib(rss[0] ?? Number.NaN),
      mib(Math.min(...loaded)),
      mib(Math.max(...loaded)),
      mib(rss.at(-1) ?? Number.NaN),
    ]);
  }
  printTable(
    ['responder', 'replies', 'RSS idle MiB', 'min under load', 'max under load', 'at end'],
    rows,
  );
}
