// Testing an app's discovery with beckon/testing: no root, no real UDP socket, no network.
//   npm run build && node --test examples/test-kit.test.js
// An Express app announced on a simulated LAN is found by a kiosk; the kiosk's watcher sees it go
// `down` when the server's host vanishes (mocked time: the 15 s lease passes in milliseconds).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createResponder, discover, watch } from 'beckon';
import { attachDiscovery } from 'beckon/http';
import { createTestNetwork, mockTime } from 'beckon/testing';
import express from 'express';

test('the kiosk finds the Express app on the office LAN', async (t) => {
  const network = createTestNetwork();
  const office = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
  const server = network.host({ name: 'server', interfaces: [{ lan: office, ipv4: '10.0.0.5' }] });
  const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan: office }] });

  const app = express();
  app.get('/', (_request, response) => response.send('Hello from Express!\n'));
  const http = app.listen(0); // a real HTTP server; discovery runs on the simulated network
  t.after(() => http.close());
  const discovery = attachDiscovery(http, { ...network.attachOptions(server), port: 5000 });
  assert.equal(await discovery.settled(), 'answering');

  const [found] = await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
  assert.equal(found?.url, `http://10.0.0.5:${http.address().port}`);
  assert.equal(found?.via, 'broadcast');
});

test('the kiosk sees the server go down when its host vanishes', async (t) => {
  const time = mockTime(t.mock); // first, before any responder or client
  const network = createTestNetwork();
  const office = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
  const server = network.host({ name: 'server', interfaces: [{ lan: office }] });
  const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan: office }] });

  const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
  const starting = responder.start();
  await time.advance(100);
  await starting;

  const watcher = watch({ ...network.clientOptions(kiosk), port: 5000 });
  t.after(() => Promise.all([watcher.close(), responder.stop()])); // even when a check fails
  const events = [];
  watcher.on('up', (s) => events.push(['up', s.ip]));
  watcher.on('down', (s, reason) => events.push(['down', s.ip, reason]));
  await time.advance(2_000);

  server.vanish(); // powered off: no goodbye
  await time.advance(20_000);
  assert.deepEqual(events, [
    ['up', server.ipv4],
    ['down', server.ipv4, 'expired'],
  ]);
});
