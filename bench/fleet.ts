// Fleet: one discover() call while N simulated servers answer at once (bench/c/fleet.c, in a
// namespace of its own, each reply from its own address), with and without reply jitter.
// Needs root (network namespaces) and gcc.
import { Lab } from '../test/lab/lab.js';
import { compile } from './lib/build.js';

const BASE = '10.77.1.0';
const SIM_SECONDS = 30;
const ROUNDS = 3;

interface Case {
  servers: number;
  jitter: readonly [number, number];
  client: Record<string, unknown>;
  label: string;
}

const cases: Case[] = [];
for (const servers of (process.env.SERVERS ?? '100,1000').split(',').map(Number)) {
  cases.push({ servers, jitter: [0, 0], client: {}, label: 'at once, defaults' });
  cases.push({ servers, jitter: [20, 120], client: {}, label: 'jitter 20-120 ms, defaults' });
}

const fleet = compile('fleet');
const lab = await new Lab().build({
  fleet: { interfaces: { eth0: { segment: 'lan', address: '10.77.0.2/16' } } },
  client: { interfaces: { eth0: { segment: 'lan', address: '10.77.0.1/16' } } },
});
try {
  console.log('servers  case                          found (median of 3)   last reply ms   call ms');
  for (const c of cases) {
    const runs: { found: number; lastMs: number; totalMs: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sim = lab
        .host('fleet')
        .spawn(fleet, ['9999', BASE, String(c.servers), '8000', ...c.jitter.map(String), String(SIM_SECONDS)]);
      await sim.waitFor(/^ready/m);
      const result = await lab.host('client').script('bench/fleet-client.ts', [JSON.stringify(c.client)], { timeoutMs: 20_000 });
      await sim.stop();
      const line = result.stdout.trim().split('\n').at(-1) ?? '';
      if (result.status !== 0 || !line.startsWith('{')) throw new Error(`client failed: ${result.stderr}`);
      runs.push(JSON.parse(line));
    }
    runs.sort((a, b) => a.found - b.found);
    const median = runs[Math.floor(runs.length / 2)];
    if (!median) continue;
    console.log(
      `${String(c.servers).padStart(7)}  ${c.label.padEnd(29)} ${`${median.found}/${c.servers} (${((median.found / c.servers) * 100).toFixed(1)}%)`.padStart(20)} ${median.lastMs.toFixed(0).padStart(15)} ${median.totalMs.toFixed(0).padStart(9)}   runs: ${runs.map((r) => r.found).join(', ')}`,
    );
  }
} finally {
  lab.destroy();
}
