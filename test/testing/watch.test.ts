/**
 * beckon/testing: watch() on the simulated network with mocked time. A server's host vanishes
 * (no goodbye) and the watcher reports `down` / `expired` once the 15 s lease runs out, with
 * node:test's mock.timers advancing time: the test takes well under a second.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResponder, type WatchEvent, watch } from '../../src/index.js';
import { createTestNetwork, mockTime } from '../../src/testing/index.js';

describe('beckon/testing: watch with mocked time', () => {
  it('sees up, then down (expired) after the host vanishes, without waiting for the lease', async (t) => {
    const time = mockTime(t.mock);
    const realStart = process.hrtime.bigint();
    const network = createTestNetwork({ seed: 7 });
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan, ipv4: '10.0.0.9' }] });
    const responder = createResponder({
      ...network.responderOptions(server),
      port: 5000,
      lease: 15_000,
    });
    const starting = responder.start();
    await time.advance(100);
    await starting;
    const events: { at: number; event: WatchEvent }[] = [];
    const watcher = watch({ ...network.clientOptions(kiosk), port: 5000 });
    const at = () => time.elapsed();
    watcher.on('up', (s) => events.push({ at: at(), event: { type: 'up', server: s } }));
    watcher.on('update', (s) => events.push({ at: at(), event: { type: 'update', server: s } }));
    watcher.on('down', (s, reason) =>
      events.push({ at: at(), event: { type: 'down', server: s, reason } }),
    );
    await time.advance(2_000);
    assert.deepEqual(
      events.map(({ event }) => [event.type, event.server.ip]),
      [['up', '10.0.0.5']],
    );

    server.vanish();
    const vanishedAt = time.elapsed();
    await time.advance(40_000, 50);
    const down = events.find(({ event }) => event.type === 'down');
    assert.ok(down, `no down event: ${JSON.stringify(events.map(({ event }) => event.type))}`);
    assert.equal(down.event.type === 'down' && down.event.reason, 'expired');
    // Not before the lease could have run out, and not long after it.
    const after = down.at - vanishedAt;
    assert.ok(
      after >= 10_000 && after <= 15_000 + 5_000,
      `down ${after} ms after the host vanished`,
    );
    await watcher.close();
    await responder.stop();
    const realMs = Number(process.hrtime.bigint() - realStart) / 1e6;
    assert.ok(realMs < 15_000, `took ${realMs} ms of real time`);
  });

  it('sees down (goodbye) at once when the responder stops, on an IPv6-only LAN', async (t) => {
    const time = mockTime(t.mock);
    const network = createTestNetwork();
    const lan = network.lan({ name: 'v6', ipv6: 'fd00:2::/64' });
    const server = network.host({ name: 'server', interfaces: [{ lan, ipv6: 'fd00:2::5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
    const starting = responder.start();
    await time.advance(100);
    await starting;
    const seen: string[] = [];
    const watcher = watch({ ...network.clientOptions(kiosk), port: 5000 });
    watcher.on('up', (s) => seen.push(`up ${s.ip} ${s.via}`));
    watcher.on('down', (s, reason) => seen.push(`down ${s.ip} ${reason} ${time.elapsed()}`));
    await time.advance(2_000);
    // Heard first from its link-local address, the source of link-scope multicast.
    assert.equal(seen.length, 1, seen.join('; '));
    assert.match(seen[0] ?? '', /^up (fe80::1:1%eth0|fd00:2::5) multicast$/);
    const stopping = responder.stop();
    const stoppedAt = time.elapsed();
    await time.advance(500);
    await stopping;
    assert.equal(seen.length, 2, seen.join('; '));
    const [, ip, reason, at] = (seen[1] ?? '').split(' ');
    assert.equal(reason, 'goodbye');
    assert.match(ip ?? '', /^(fe80::1:1%eth0|fd00:2::5)$/);
    assert.ok(Number(at) - stoppedAt < 500, seen.join('; '));
    await watcher.close();
  });

  it("the watcher's own link goes down: down (interface-lost); up again: the server is back", async (t) => {
    const time = mockTime(t.mock);
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
    const starting = responder.start();
    await time.advance(100);
    await starting;
    const seen: string[] = [];
    const watcher = watch({ ...network.clientOptions(kiosk), port: 5000 });
    watcher.on('up', (s) => seen.push(`up ${s.ip}`));
    watcher.on('down', (s, reason) => seen.push(`down ${s.ip} ${reason}`));
    await time.advance(2_000);
    kiosk.link(lan).down();
    await time.advance(10_000);
    assert.deepEqual(seen, ['up 10.0.0.5', 'down 10.0.0.5 interface-lost']);
    kiosk.link(lan).up();
    await time.advance(10_000);
    assert.deepEqual(seen.slice(2), ['up 10.0.0.5']);
    await watcher.close();
    const stopping = responder.stop();
    await time.advance(100);
    await stopping;
  });

  it("the server's address changes: the watcher reports an update with the new address", async (t) => {
    const time = mockTime(t.mock);
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
    const starting = responder.start();
    await time.advance(100);
    await starting;
    const seen: string[] = [];
    const watcher = watch({ ...network.clientOptions(kiosk), port: 5000 });
    watcher.on('up', (s) => seen.push(`up ${s.ip}`));
    watcher.on('update', (s) => seen.push(`update ${s.addresses.map((a) => a.address).join(',')}`));
    watcher.on('down', (s, reason) => seen.push(`down ${s.ip} ${reason}`));
    await time.advance(2_000);
    server.setAddress(lan, { ipv4: '10.0.0.50' });
    await time.advance(10_000);
    assert.equal(seen[0], 'up 10.0.0.5');
    // The new address is merged into the server's record (the old one goes when it expires).
    assert.ok(
      seen.some((line) => line.startsWith('update') && line.includes('10.0.0.50')),
      seen.join('; '),
    );
    assert.ok(!seen.some((line) => line.startsWith('down')), seen.join('; '));
    await watcher.close();
    const stopping = responder.stop();
    await time.advance(100);
    await stopping;
  });
});
