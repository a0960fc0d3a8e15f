// Testing an app's discovery with beckon/testing under Vitest: no root, no real UDP socket, no
// network.   npm run build && npx vitest run examples/vitest-kit.spec.js
// (The node:test version is examples/test-kit.test.js.) An Express app announced on a simulated
// LAN is found by a kiosk; the kiosk's watcher sees it go `down` when the server's host vanishes
// (Vitest's fake timers: the 15 s lease passes in milliseconds).
import { createResponder, discover, watch } from 'beckon';
import { attachDiscovery } from 'beckon/http';
import { createTestNetwork } from 'beckon/testing';
import express from 'express';
import { afterEach, expect, test, vi } from 'vitest';

afterEach(() => {
  vi.useRealTimers();
});

test('the kiosk finds the Express app on the office LAN', async ({ onTestFinished }) => {
  const network = createTestNetwork();
  const office = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
  const server = network.host({ name: 'server', interfaces: [{ lan: office, ipv4: '10.0.0.5' }] });
  const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan: office }] });

  const app = express();
  app.get('/', (_request, response) => response.send('Hello from Express!\n'));
  const http = app.listen(0); // a real HTTP server; discovery runs on the simulated network
  onTestFinished(() => http.close());
  const discovery = attachDiscovery(http, { ...network.attachOptions(server), port: 5000 });
  expect(await discovery.settled()).toBe('answering');

  const [found] = await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
  expect(found?.url).toBe(`http://10.0.0.5:${http.address().port}`);
  expect(found?.via).toBe('broadcast');
});

test('the kiosk sees the server go down when its host vanishes', async ({ onTestFinished }) => {
  // First, before any responder or client. Vitest's default fakes performance.now() too, which
  // beckon measures leases with: a custom toFake list must keep 'performance'.
  vi.useFakeTimers();
  const network = createTestNetwork();
  const office = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
  const server = network.host({ name: 'server', interfaces: [{ lan: office }] });
  const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan: office }] });

  const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
  const starting = responder.start();
  await vi.advanceTimersByTimeAsync(100);
  await starting;

  const watcher = watch({ ...network.clientOptions(kiosk), port: 5000 });
  onTestFinished(() => Promise.all([watcher.close(), responder.stop()])); // even when a check fails
  const events = [];
  watcher.on('up', (s) => events.push(['up', s.ip]));
  watcher.on('down', (s, reason) => events.push(['down', s.ip, reason]));
  await vi.advanceTimersByTimeAsync(2_000);

  server.vanish(); // powered off: no goodbye
  await vi.advanceTimersByTimeAsync(20_000);
  expect(events).toEqual([
    ['up', server.ipv4],
    ['down', server.ipv4, 'expired'],
  ]);
});
