import assert from 'node:assert/strict';
import { it } from 'node:test';
import { serve } from '../beckon.js';
import { startLab } from '../lab.js';

/** One JSON event line of `beckon watch --json`. */
interface Event {
  event: 'up' | 'update' | 'down';
  reason?: string;
  server: { ip: string; port: number; interface?: string };
}

it('scenario 17i: a watcher on two LANs reports the server of a LAN whose interface goes away down (interface-lost), and keeps the other', async (t) => {
  const lab = await startLab(t, {
    one: { interfaces: { eth0: { segment: 'lan1', address: '10.17.1.10/24' } } },
    two: { interfaces: { eth0: { segment: 'lan2', address: '10.17.2.10/24' } } },
    watcher: {
      interfaces: {
        eth0: { segment: 'lan1', address: '10.17.1.20/24' },
        eth1: { segment: 'lan2', address: '10.17.2.20/24' },
      },
    },
  });
  if (!lab) return;
  await serve(lab.host('one'), '--http-port', '8081');
  await serve(lab.host('two'), '--http-port', '8082');
  const watcher = lab.host('watcher').beckon('watch', '--json', '-4');
  const events = (): Event[] =>
    watcher.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Event);
  await watcher.waitFor(/"event":"up".*"port":8081/, 5000);
  await watcher.waitFor(/"event":"up".*"port":8082/, 5000);

  const removed = performance.now();
  lab.host('watcher').ip('link', 'del', 'eth1');
  await watcher.waitFor(/"event":"down"/, 5000);
  const elapsed = performance.now() - removed;
  const downs = events().filter((e) => e.event === 'down');
  assert.equal(downs.length, 1, JSON.stringify(downs));
  assert.equal(downs[0]?.reason, 'interface-lost');
  assert.equal(downs[0]?.server.port, 8082);
  assert.ok(elapsed < 4000, `down ${Math.round(elapsed)} ms after the interface went`);
  t.diagnostic(`interface-lost ${Math.round(elapsed)} ms after the interface was deleted`);

  // The other LAN's server stays: its lease is refreshed on eth0 (15 s lease: watch 3 s).
  await new Promise((resolve) => setTimeout(resolve, 3000));
  assert.equal(events().filter((e) => e.event === 'down').length, 1);
  await watcher.stop('SIGINT');
});
