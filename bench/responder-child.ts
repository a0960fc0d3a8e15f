// Runs our responder in its own process for bench/responder.ts; prints `ready <port>`.
import { createResponder } from '../src/index.js';

const responder = createResponder({ port: 0, httpPort: 8000, rateLimit: 0, env: {} });
await responder.start();
process.stdout.write(`ready ${responder.port}\n`);

process.once('SIGTERM', () => {
  void responder.stop().then(() => process.exit(0));
});
