/**
 * For the many-services lab (test/lab/scenarios/many-services.test.ts): one app with discovery
 * attached, on the default UDP port 9999.
 *
 *   service-app.ts <express|fastify> '<options JSON>' [<workers> [refork]]
 *
 * The options are `{ service, httpPort, instanceId?, authKeys? }` plus any responder option
 * (rateLimit...). With <workers> > 0 the app runs as a node:cluster primary with that many
 * workers, all listening on the same HTTP port (the primary itself answers nothing); with
 * `refork`, a worker that dies is replaced by a new one.
 *
 * Each process that attaches discovery prints `state <pid> <state>` when discovery settles and
 * whenever its state changes later (`registered` -> `answering` on a takeover). The primary
 * forwards SIGTERM to its workers. Stops on SIGTERM.
 */
import cluster from 'node:cluster';
import express from 'express';
import Fastify from 'fastify';
import beckon from '../../../src/integrations/fastify.js';
import { attachDiscovery, type DiscoveryHandle } from '../../../src/integrations/http.js';

const [kind = 'express', optionsText = '{}', workersText = '0'] = process.argv.slice(2);
const { httpPort, ...options } = JSON.parse(optionsText) as {
  httpPort: number;
  [option: string]: unknown;
};
const workers = Number(workersText);
const quiet = { debug: () => {}, info: () => {}, warn: console.warn, error: console.error };
const attach = { enabled: true, env: {}, logger: quiet, ...options };

/** Prints the state once settled, then every change, until the process ends. */
async function report(handle: DiscoveryHandle): Promise<void> {
  let last = await handle.settled();
  process.stdout.write(`state ${process.pid} ${last}\n`);
  setInterval(() => {
    if (handle.state === last) return;
    last = handle.state;
    process.stdout.write(`state ${process.pid} ${last}\n`);
  }, 10).unref();
}

if (workers > 0 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  let stopping = false;
  // As PM2 and most cluster apps do: a worker that dies is replaced (with `refork`).
  if (process.argv[5] === 'refork') cluster.on('exit', () => stopping || cluster.fork());
  process.once('SIGTERM', () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGTERM');
  });
} else if (kind === 'fastify') {
  const app = Fastify();
  app.get('/', async () => `fastify ${process.pid}\n`);
  await app.register(beckon, attach);
  await app.listen({ port: httpPort, host: '0.0.0.0' });
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
  await report(app.beckon);
} else {
  const app = express();
  app.get('/', (_request, response) => {
    response.send(`express ${process.pid}\n`);
  });
  const server = app.listen(httpPort, '0.0.0.0');
  const handle = attachDiscovery(server, attach);
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
  await report(handle);
}
