/**
 * watch() and a beckon server that announces nothing (`announce: false`, CLI `--no-announce`):
 * polled like an original server, and kept while it answers (docs/presence.md). On loopback only.
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { type Server, watch } from '../../src/index.js';
import { trackResponders } from '../helpers/responders.js';
import { freeUdpPort, LOCAL, sleep } from '../helpers/udp.js';

const start = trackResponders();

it('polls a beckon server with announce: false, keeps it while it answers, and gives it up after', async () => {
  const port = await freeUdpPort();
  const responder = await start({ port, httpPort: 8080, service: 'quiet', announce: false });
  const watcher = watch({
    ...LOCAL,
    port,
    announcePort: await freeUdpPort(),
    timeout: 500,
    pollInterval: 1000,
  });
  after(() => watcher.close());
  const downs: Server[] = [];
  watcher.on('down', (server) => downs.push(server));
  const deadline = Date.now() + 2000;
  while (watcher.servers.length === 0 && Date.now() < deadline) await sleep(20);
  assert.equal(watcher.servers[0]?.metadata?.service, 'quiet');
  // Before it was asked again, it was given up after 3 polls (about 3-4 s) and found again
  // only by the next sweep: a server that never stopped went down.
  await sleep(5500);
  assert.deepEqual(downs, [], 'no down while it answers its polls');
  assert.equal(watcher.servers.length, 1);
  const stopped = performance.now();
  await responder.stop();
  const deadline2 = Date.now() + 8000;
  while (downs.length === 0 && Date.now() < deadline2) await sleep(20);
  assert.equal(downs.length, 1, 'down once it stopped answering');
  assert.ok(performance.now() - stopped >= 2000, 'not before it missed its polls');
});
