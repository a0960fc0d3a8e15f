// The polling baseline of bench/presence.ts: discover() (default timeout and retries) in a loop,
// one run every argv[2] ms, as a client would keep a list of servers without watch().
import { discover } from '../src/index.js';

const every = Number(process.argv[2] ?? 5000);
let stopped = false;
process.once('SIGTERM', () => {
  stopped = true;
});
while (!stopped) {
  const began = Date.now();
  await discover();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, every - (Date.now() - began))));
}
