// One discover() call for bench/fleet.ts, run inside the client's namespace. Options come as
// JSON in argv[2]; prints {"found", "lastMs", "totalMs"} as one JSON line.
import { discoverStream } from '../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const started = performance.now();
let found = 0;
let lastMs = 0;
for await (const _server of discoverStream({ env: {}, ...options })) {
  found++;
  lastMs = performance.now() - started;
}
const totalMs = performance.now() - started;
process.stdout.write(`${JSON.stringify({ found, lastMs, totalMs })}\n`);
