/**
 * `verify` (docs/presence.md): a server is reported only once its advertised URL works, and a
 * watcher reports it `down` (`unreachable`) when the app stops though its responder answers.
 * Real HTTP servers and responders on loopback.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { verifyServer } from '../../src/client/verify.js';
import { discover, discoverOne, watch } from '../../src/index.js';
import { trackResponders } from '../helpers/responders.js';
import { freeUdpPort, LOCAL } from '../helpers/udp.js';

const start = trackResponders();

async function httpApp(status = 200): Promise<{ server: HttpServer; port: number }> {
  const server = createServer((_request, response) => response.writeHead(status).end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  after(() => server.close());
  const address = server.address();
  return { server, port: typeof address === 'object' && address ? address.port : 0 };
}

/** A TCP port nothing listens on (one that was free a moment ago). */
async function closedPort(): Promise<number> {
  const { server, port } = await httpApp();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const at = (port: number) => ({ ip: '127.0.0.1', port, url: `http://127.0.0.1:${port}` });

describe('verify', () => {
  it('checks a URL: tcp connects, http needs a response (any status), both within the timeout', async () => {
    const { port } = await httpApp(404);
    const dead = await closedPort();
    assert.equal(await verifyServer(at(port), 'tcp'), true);
    assert.equal(await verifyServer(at(port), 'http'), true, 'a 404 is an app that works');
    assert.equal(await verifyServer(at(dead), 'tcp'), false);
    assert.equal(await verifyServer(at(dead), 'http'), false);
    // Accepts connections, never answers: tcp passes, http times out.
    const hung = createTcpServer(() => {});
    hung.listen(0, '127.0.0.1');
    await once(hung, 'listening');
    after(() => hung.close());
    const hungPort = (hung.address() as { port: number }).port;
    assert.equal(await verifyServer(at(hungPort), 'tcp'), true);
    const began = performance.now();
    assert.equal(await verifyServer(at(hungPort), 'http', 300), false);
    assert.ok(performance.now() - began < 1000);
  });

  it('discover and discoverOne report only servers whose URL works', async () => {
    const port = await freeUdpPort();
    const { port: live } = await httpApp();
    const dead = await closedPort();
    await start({ port, httpPort: dead, service: 'dead' });
    await start({ port, httpPort: live, service: 'live' });
    const unchecked = await discover({ ...LOCAL, port, timeout: 500 });
    assert.equal(unchecked.length, 2);
    for (const verify of ['tcp', 'http'] as const) {
      const servers = await discover({ ...LOCAL, port, timeout: 500, verify });
      assert.deepEqual(
        servers.map((s) => s.port),
        [live],
        verify,
      );
    }
    const one = await discoverOne({ ...LOCAL, port, timeout: 1000, verify: 'http' });
    assert.equal(one?.port, live);
    assert.throws(() => discover({ ...LOCAL, verify: 'ping' as 'tcp' }), /verify/);
  });

  it('a watcher reports a hung app down (unreachable) though its responder answers', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const app = await httpApp();
    await start({ port, announcePort, httpPort: app.port, service: 'app' });
    const watcher = watch({
      ...LOCAL,
      port,
      announcePort,
      timeout: 500,
      pollInterval: 1000,
      verify: 'http',
    });
    after(() => watcher.close());
    const [up] = await once(watcher, 'up');
    assert.equal(up.port, app.port);
    const closed = performance.now();
    app.server.closeAllConnections();
    app.server.close();
    const [down, reason] = await once(watcher, 'down');
    assert.equal(reason, 'unreachable');
    assert.equal(down.port, app.port);
    assert.ok(performance.now() - closed < 3000);
    assert.equal(watcher.servers.length, 0);
  });
});
