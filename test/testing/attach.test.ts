/** beckon/testing: attachDiscovery (beckon/http) on a real node:http server, on the simulated network. */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, it } from 'node:test';
import { discover } from '../../src/index.js';
import { attachDiscovery } from '../../src/integrations/http.js';
import { createTestNetwork } from '../../src/testing/index.js';

describe('beckon/testing: attachDiscovery', () => {
  it('a real HTTP server on loopback is announced with its real port on the simulated LAN', async (t) => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const serverHost = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const server = createServer((_request, response) => response.end('hello'));
    const discovery = attachDiscovery(server, { ...network.attachOptions(serverHost), port: 5000 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(async () => {
      await discovery.stop();
      await new Promise((resolve) => server.close(resolve));
    });
    assert.equal(await discovery.settled(), 'answering');
    const httpPort = (server.address() as { port: number }).port;
    // On the same simulated host, over loopback (the server listens on 127.0.0.1 only).
    const found = await discover({
      ...network.clientOptions(serverHost),
      port: 5000,
      timeout: 300,
      broadcast: false,
      targets: ['127.0.0.1'],
    });
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]?.url, `http://127.0.0.1:${httpPort}`);
    // And the URL answers for real.
    const response = await fetch(found[0]?.url ?? '');
    assert.equal(await response.text(), 'hello');
    // Another host's requests are not answered: the server cannot be reached from there.
    const fromKiosk = await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
    assert.deepEqual(fromKiosk, []);
  });

  it('two apps on one simulated host: the second is registered with the first; both found, and fetched', async (t) => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const serverHost = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const apps = ['orders', 'users'].map((name) => {
      const server = createServer((_request, response) => response.end(name));
      const discovery = attachDiscovery(server, {
        ...network.attachOptions(serverHost),
        service: name,
      });
      t.after(async () => {
        await discovery.stop();
        await new Promise((resolve) => server.close(resolve));
      });
      return { server, discovery };
    });
    for (const { server, discovery } of apps) {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      await discovery.settled();
    }
    assert.deepEqual(
      apps.map(({ discovery }) => discovery.state),
      ['answering', 'registered'],
    );
    // Both through the one answering responder, over loopback on the simulated host.
    const overLoopback = () =>
      discover({
        ...network.clientOptions(serverHost),
        timeout: 300,
        broadcast: false,
        targets: ['127.0.0.1'],
        extended: true,
      });
    const found = await overLoopback();
    const bodies = await Promise.all(
      found.map(async (s) => `${s.metadata?.service} ${await (await fetch(s.url)).text()}`),
    );
    assert.deepEqual(bodies.sort(), ['orders orders', 'users users']);
    // The second takes over when the first app stops.
    await apps[0]?.discovery.stop();
    for (let i = 0; i < 100 && apps[1]?.discovery.state !== 'answering'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(apps[1]?.discovery.state, 'answering');
    assert.deepEqual(
      (await overLoopback()).map((s) => s.metadata?.service),
      ['users'],
    );
    // Listening on 127.0.0.1 only, neither app is announced to another host.
    assert.deepEqual(await discover({ ...network.clientOptions(kiosk), timeout: 300 }), []);
  });
});
