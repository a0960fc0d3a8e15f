/** beckon/testing: discovery on one simulated LAN, IPv4 broadcast and IPv6 multicast. */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createResponder, discover, discoverOne } from '../../src/index.js';
import { createUdpSocket } from '../../src/network/socket.js';
import { createTestNetwork } from '../../src/testing/index.js';

const KIT = fileURLToPath(new URL('../../src/testing/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('beckon/testing: one LAN', () => {
  it('discover() on one host finds the responder on the other, by broadcast', async (t) => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan, ipv4: '10.0.0.9' }] });
    const responder = createResponder({
      ...network.responderOptions(server),
      port: 5000,
      httpPort: 8080,
    });
    await responder.start();
    t.after(() => responder.stop());
    const found = await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]?.ip, '10.0.0.5');
    assert.equal(found[0]?.url, 'http://10.0.0.5:8080');
    assert.equal(found[0]?.interface, 'eth0');
    assert.equal(found[0]?.via, 'broadcast');
    assert.equal(found[0]?.source, '10.0.0.5');
  });

  it('opens no real socket: dgram.createSocket is never called during a run', async (t) => {
    const real = t.mock.method(dgram, 'createSocket');
    syncBuiltinESMExports(); // beckon's named import of createSocket sees the spy
    t.after(() => {
      real.mock.restore();
      syncBuiltinESMExports();
    });
    const network = createTestNetwork();
    const lan = network.lan({ name: 'dual', ipv4: '10.0.0.0/24', ipv6: 'fd00:1::/64' });
    const server = network.host({ name: 'server', interfaces: [{ lan }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
    await responder.start();
    const found = await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
    await responder.stop();
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(real.mock.callCount(), 0);
    // The spy sees beckon's own default factory (a socket made, never bound: nothing sent).
    createUdpSocket({ type: 'udp4' }).close();
    assert.equal(real.mock.callCount(), 1);
  });

  it('an IPv6-only LAN: found through the IPv6 group, with the unique-local address', async (t) => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'v6', ipv6: 'fd00:1::/64' });
    const server = network.host({ name: 'server', interfaces: [{ lan, ipv6: 'fd00:1::5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const responder = createResponder({
      ...network.responderOptions(server),
      port: 5000,
      httpPort: 8080,
    });
    await responder.start();
    t.after(() => responder.stop());
    const all = await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
    assert.equal(all.length, 1, JSON.stringify(all));
    const found = all[0];
    assert.equal(found?.ip, 'fd00:1::5');
    assert.equal(found?.url, 'http://[fd00:1::5]:8080');
    assert.equal(found?.via, 'multicast');
    assert.equal(found?.interface, 'eth0');
    // The first answer comes from the link-local address (the source of link-scope multicast).
    const first = await discoverOne({ ...network.clientOptions(kiosk), port: 5000, timeout: 1000 });
    assert.match(first?.ip ?? '', /^(fe80::|fd00:1::5$)/);
  });

  it('a host on another LAN is not found (broadcasts stay in their LAN)', async (t) => {
    const network = createTestNetwork();
    const a = network.lan({ name: 'a', ipv4: '10.0.0.0/24' });
    const b = network.lan({ name: 'b', ipv4: '10.0.1.0/24' });
    const server = network.host({ name: 'server', interfaces: [{ lan: a }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan: b }] });
    const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
    await responder.start();
    t.after(() => responder.stop());
    const found = await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
    assert.deepEqual(found, []);
  });

  it('with shareHost off, a second responder on the same host and port fails with EADDRINUSE; another host is free', async (t) => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const one = network.host({ name: 'one', interfaces: [{ lan }] });
    const two = network.host({ name: 'two', interfaces: [{ lan }] });
    const first = createResponder({ ...network.responderOptions(one), port: 5000, family: 'IPv4' });
    await first.start();
    t.after(() => first.stop());
    const second = createResponder({
      ...network.responderOptions(one),
      port: 5000,
      family: 'IPv4',
      shareHost: false, // shared, it would register (test/testing/many-services.test.ts)
    });
    await assert.rejects(second.start(), (error: Error) =>
      /EADDRINUSE/.test(String(error) + String(error.cause)),
    );
    const other = createResponder({ ...network.responderOptions(two), port: 5000, family: 'IPv4' });
    await other.start();
    t.after(() => other.stop());
    const found = await discover({ ...network.clientOptions(one), port: 5000, timeout: 300 });
    assert.deepEqual(found.map((s) => s.ip).sort(), [one.ipv4, two.ipv4].sort());
  });

  it('the kit imports no socket module and nothing of beckon that opens sockets', () => {
    const allowed =
      /^(\.\/|\.\.\/network\/(ipv4|ipv6|interfaces|interfaces6|socket)\.js|\.\.\/host\/transport\.js|\.\.\/errors\.js|node:(events|test|dgram)$)/;
    for (const file of readdirSync(KIT)) {
      const source = readFileSync(join(KIT, file), 'utf8');
      for (const match of source.matchAll(/^import (type )?.*? from '([^']+)';$/gms)) {
        const [, typeOnly, from = ''] = match;
        assert.match(from, allowed, `${file} imports ${from}`);
        // node:dgram, the socket module (which imports node:dgram) and the host channel's
        // transport module (which imports node:net) only for types.
        if (
          from === 'node:dgram' ||
          from === 'node:test' ||
          (from.endsWith('/socket.js') && from.startsWith('../')) ||
          from === '../host/transport.js'
        ) {
          assert.equal(typeOnly, 'type ', `${file} imports ${from} for more than types`);
        }
      }
    }
  });

  it('loading the built beckon/testing loads no dgram or net module (a fresh process, no loader)', async () => {
    const { execFileSync } = await import('node:child_process');
    const loaded = (entry: string) => {
      const script = `await import(${JSON.stringify(entry)});
        const socketModules = /dgram|udp_wrap|NativeModule net$|pipe_wrap|tcp_wrap/;
        console.log(JSON.stringify(process.moduleLoadList.filter((m) => socketModules.test(m))));`;
      const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
      });
      return JSON.parse(out.trim()) as string[];
    };
    // dist/ is built before the tests run (npm test); the TypeScript loader itself loads dgram.
    assert.deepEqual(loaded(join(ROOT, 'dist/testing/index.js')), []);
    // The check can fail: beckon's main entry does load dgram, and net (the host channel).
    const main = loaded(join(ROOT, 'dist/index.js'));
    assert.ok(main.includes('NativeModule dgram'), JSON.stringify(main));
    assert.ok(main.includes('NativeModule net'), JSON.stringify(main));
  });
});

it("the machine's DISCOVERY_* variables do not change a simulated run", async (t) => {
  const saved = process.env.DISCOVERY_PORT;
  process.env.DISCOVERY_PORT = '1';
  t.after(() => {
    if (saved === undefined) delete process.env.DISCOVERY_PORT;
    else process.env.DISCOVERY_PORT = saved;
  });
  const network = createTestNetwork();
  const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
  const server = network.host({ name: 'server', interfaces: [{ lan }] });
  const client = network.host({ name: 'client', interfaces: [{ lan }] });
  const responder = createResponder({ ...network.responderOptions(server), httpPort: 8080 });
  await responder.start();
  t.after(() => responder.stop());
  assert.equal(responder.port, 9999); // the default, not the variable's 1
  const found = await discover({ ...network.clientOptions(client), timeout: 300 });
  assert.deepEqual(
    found.map((s) => s.url),
    [`http://${server.ipv4}:8080`],
  );
});
