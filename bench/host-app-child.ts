// An Express app with discovery attached, for bench/host-app.ts. Prints
// `ready <http port> <udp port>`. argv: `main` or `worker` (where the responder answers), then
// `limited` (the default rate limit) or `unlimited` (rateLimit 0: every request is answered).
import express from 'express';
import { attachDiscovery } from '../src/integrations/http.js';

const worker = process.argv[2] === 'worker';
const app = express();
// A little work per request, like a real handler: build and serialise a small object.
app.get('/', (_req, res) => {
  res.json({ ok: true, at: Date.now(), items: Array.from({ length: 20 }, (_, i) => i * i) });
});
const server = app.listen(0, '127.0.0.1');
const rateLimit = process.argv[3] === 'unlimited' ? { rateLimit: 0 } : {};
const discovery = attachDiscovery(server, {
  port: 0,
  enabled: true,
  env: {},
  worker,
  ...rateLimit,
});
const state = await discovery.settled();
const udpPort = discovery.responder?.port;
const address = server.address();
if (
  state !== 'answering' ||
  udpPort === undefined ||
  address === null ||
  typeof address === 'string'
) {
  throw new Error(`discovery did not start: ${state}`);
}
process.stdout.write(`ready ${address.port} ${udpPort}\n`);
process.once('SIGTERM', () => {
  void discovery.stop().then(() => server.close(() => process.exit(0)));
});
