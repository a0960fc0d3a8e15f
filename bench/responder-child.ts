// Runs our responder in its own process for bench/responder.ts; prints `ready <port>`.
// `--worker` answers in a worker thread (the `worker` option).
import { createResponder } from '../src/index.js';

const responder = createResponder({
  port: 0,
  // Loopback only: with rateLimit 0 it must not answer anyone else while the benchmark runs.
  bindAddress: '127.0.0.1',
  httpPort: 8000,
  rateLimit: 0,
  env: {},
  worker: process.argv.includes('--worker'),
});
await responder.start();
process.stdout.write(`ready ${responder.port}\n`);

process.once('SIGTERM', () => {
  void responder.stop().then(() => process.exit(0));
});
