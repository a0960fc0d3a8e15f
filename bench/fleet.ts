// Fleet: one discover() call while N simulated servers answer (bench/c/fleet.c, in a network
// namespace of its own, each reply from its own address), at once or with reply jitter, with
// the client's receive buffer at its default and smaller. Needs root (namespaces) and gcc.
import { Lab } from '../test/lab/lab.js';
import { compile } from './lib/build.js';
import { median, printTable } from './lib/process.js';

const BASE = '10.77.1.0';
const SIM_SECONDS = 30;
const ROUNDS = 3;

interface Case {
  label: string;
  jitter: readonly [number, number];
  client: { receiveBufferSize?: number };
}

const CASES: readonly Case[] = [
  { label: 'at once; defaults (1 MiB receive buffer)', jitter: [0, 0], client: {} },
  {
    label: 'at once; buffer capped as on most desktops (rmem_max 212992)',
    jitter: [0, 0],
    client: { receiveBufferSize: 212_992 },
  },
  {
    label: 'at once; system default buffer (before this change)',
    jitter: [0, 0],
    client: { receiveBufferSize: 0 },
  },
  {
    label: 'jitter 20-120 ms; system default buffer',
    jitter: [20, 120],
    client: { receiveBufferSize: 0 },
  },
];

interface Outcome {
  found: number;
  lastMs: number;
  totalMs: number;
}

export async function run(): Promise<void> {
  const fleet = compile('fleet');
  const lab = await new Lab().build({
    fleet: { interfaces: { eth0: { segment: 'lan', address: '10.77.0.2/16' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.77.0.1/16' } } },
  });
  try {
    console.log(`\n## Fleet: one discover() call, N servers answering (median of ${ROUNDS})\n`);
    const rows: string[][] = [];
    for (const servers of [100, 1000]) {
      for (const c of CASES) {
        const outcomes: Outcome[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          const args = ['9999', BASE, String(servers), '8000', ...c.jitter.map(String)];
          const sim = lab.host('fleet').spawn(fleet, [...args, String(SIM_SECONDS)]);
          try {
            await sim.waitFor(/^ready/m);
            const result = await lab
              .host('client')
              .script('bench/fleet-client.ts', [JSON.stringify(c.client)], { timeoutMs: 20_000 });
            const line = result.stdout.trim().split('\n').at(-1) ?? '';
            if (result.status !== 0 || !line.startsWith('{')) {
              throw new Error(`fleet client failed: ${result.stderr}`);
            }
            outcomes.push(JSON.parse(line) as Outcome);
          } finally {
            await sim.stop();
          }
        }
        const found = median(outcomes.map((o) => o.found));
        rows.push([
          String(servers),
          c.label,
          `${found}/${servers} (${((found / servers) * 100).toFixed(1)}%)`,
          outcomes.map((o) => o.found).join(', '),
          median(outcomes.map((o) => o.lastMs)).toFixed(0),
          median(outcomes.map((o) => o.totalMs)).toFixed(0),
        ]);
      }
    }
    printTable(['N', 'case', 'found', 'each run', 'last found ms', 'call ms'], rows);
  } finally {
    lab.destroy();
  }
}
