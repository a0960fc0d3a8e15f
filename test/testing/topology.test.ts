/** beckon/testing: several LANs, a multi-homed host, unicast targets, a router, route lookups. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResponder, discover } from '../../src/index.js';
import { routeSourceAddress } from '../../src/network/route.js';
import { createTestNetwork } from '../../src/testing/index.js';

function twoLans() {
  const network = createTestNetwork();
  const a = network.lan({ name: 'a', ipv4: '10.0.0.0/24' });
  const b = network.lan({ name: 'b', ipv4: '10.0.1.0/24' });
  return { network, a, b };
}

describe('beckon/testing: topologies', () => {
  it('a multi-homed server is found on each LAN with the address of that LAN', async (t) => {
    const { network, a, b } = twoLans();
    const server = network.host({
      name: 'server',
      interfaces: [
        { lan: a, ipv4: '10.0.0.5' },
        { lan: b, ipv4: '10.0.1.5' },
      ],
    });
    const onA = network.host({ name: 'onA', interfaces: [{ lan: a }] });
    const onB = network.host({ name: 'onB', interfaces: [{ lan: b }] });
    const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
    await responder.start();
    t.after(() => responder.stop());
    const fromA = await discover({ ...network.clientOptions(onA), port: 5000, timeout: 300 });
    const fromB = await discover({ ...network.clientOptions(onB), port: 5000, timeout: 300 });
    assert.deepEqual(
      fromA.map((s) => s.ip),
      ['10.0.0.5'],
    );
    assert.deepEqual(
      fromB.map((s) => s.ip),
      ['10.0.1.5'],
    );
  });

  it('a multi-homed client finds a server on each of its LANs, tagged with the interface', async (t) => {
    const { network, a, b } = twoLans();
    const kiosk = network.host({
      name: 'kiosk',
      interfaces: [
        { lan: a, name: 'wired' },
        { lan: b, name: 'wifi' },
      ],
    });
    const one = network.host({ name: 'one', interfaces: [{ lan: a, ipv4: '10.0.0.7' }] });
    const two = network.host({ name: 'two', interfaces: [{ lan: b, ipv4: '10.0.1.7' }] });
    for (const host of [one, two]) {
      const responder = createResponder({ ...network.responderOptions(host), port: 5000 });
      await responder.start();
      t.after(() => responder.stop());
    }
    const found = await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
    assert.deepEqual(found.map((s) => [s.ip, s.interface, s.via]).sort(), [
      ['10.0.0.7', 'wired', 'broadcast'],
      ['10.0.1.7', 'wifi', 'broadcast'],
    ]);
  });

  it('a server behind a router: not found by broadcast, found as a unicast target', async (t) => {
    const { network, a, b } = twoLans();
    network.router({ lans: [a, b] });
    const server = network.host({ name: 'server', interfaces: [{ lan: b, ipv4: '10.0.1.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan: a, ipv4: '10.0.0.9' }] });
    // 10.0.0.9 is private: answered behind a router by the default offLink policy.
    const responder = createResponder({ ...network.responderOptions(server), port: 5000 });
    await responder.start();
    t.after(() => responder.stop());
    const options = { ...network.clientOptions(kiosk), port: 5000, timeout: 300 };
    assert.deepEqual(await discover(options), []);
    const found = await discover({ ...options, targets: ['10.0.1.5'] });
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.equal(found[0]?.ip, '10.0.1.5');
    assert.equal(found[0]?.via, 'target');
    // Without the router there is no route: nothing is found.
    const isolated = twoLans();
    const far = isolated.network.host({ name: 'far', interfaces: [{ lan: isolated.b }] });
    const near = isolated.network.host({ name: 'near', interfaces: [{ lan: isolated.a }] });
    const lone = createResponder({ ...isolated.network.responderOptions(far), port: 5000 });
    await lone.start();
    t.after(() => lone.stop());
    const none = await discover({
      ...isolated.network.clientOptions(near),
      port: 5000,
      timeout: 300,
      targets: [far.ipv4 ?? ''],
    });
    assert.deepEqual(none, []);
  });

  it('route lookups (connect + address) answer the address of the interface toward the target', async () => {
    const { network, a, b } = twoLans();
    network.router({ lans: [a, b] });
    const host = network.host({
      name: 'host',
      interfaces: [
        { lan: a, ipv4: '10.0.0.5' },
        { lan: b, ipv4: '10.0.1.5' },
      ],
    });
    const c = network.lan({ name: 'c', ipv4: '192.168.9.0/24' });
    network.router({ lans: [b, c] });
    assert.equal(await routeSourceAddress('10.0.0.77', host.socketFactory), '10.0.0.5');
    assert.equal(await routeSourceAddress('10.0.1.77', host.socketFactory), '10.0.1.5');
    assert.equal(await routeSourceAddress('192.168.9.1', host.socketFactory), '10.0.1.5');
    assert.equal(await routeSourceAddress('127.0.0.1', host.socketFactory), '127.0.0.1');
    assert.equal(await routeSourceAddress('172.16.0.1', host.socketFactory), undefined);
  });
  it('addresses left out stay inside a small subnet, skip its broadcast address, and a full LAN throws', () => {
    const network = createTestNetwork();
    const small = network.lan({ name: 'small', ipv4: '10.0.0.0/28', ipv6: 'fd00:9::/120' });
    const given = network.host({ name: 'given', interfaces: [{ lan: small, ipv4: '10.0.0.1' }] });
    const picked = [given.ipv4];
    for (let i = 0; i < 13; i++) {
      picked.push(network.host({ name: `h${i}`, interfaces: [{ lan: small }] }).ipv4);
    }
    assert.deepEqual(
      picked,
      [1, 10, 11, 12, 13, 14, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `10.0.0.${n}`),
    );
    assert.throws(
      () => network.host({ name: 'one-too-many', interfaces: [{ lan: small }] }),
      (error: Error) => error.name === 'InvalidOptionError' && /small/.test(error.message),
    );
    const p2p = network.lan({ name: 'p2p', ipv4: '10.0.1.0/30' });
    const ends = [0, 1].map((i) => network.host({ name: `end${i}`, interfaces: [{ lan: p2p }] }));
    assert.deepEqual(ends.map((h) => h.ipv4).sort(), ['10.0.1.1', '10.0.1.2']);
  });
  it('a router, loss or latency given something else than LANs throws InvalidOptionError', () => {
    const { network, a } = twoLans();
    const invalid = (option: string) => (error: Error) =>
      error.name === 'InvalidOptionError' && error.message.startsWith(`Invalid ${option}:`);
    const bad: unknown[] = [undefined, [a], [a, 'b'], 'a'];
    for (const lans of bad) {
      assert.throws(
        () => network.router({ lans } as unknown as Parameters<typeof network.router>[0]),
        invalid('lans'),
      );
    }
    const notALan = 'a' as unknown as typeof a;
    assert.throws(() => network.loss(notALan, 0.5), invalid('lan'));
    assert.throws(() => network.latency(notALan, 10), invalid('lan'));
  });
});
