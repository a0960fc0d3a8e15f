/** beckon/testing: seeded loss, latency, a link going down, an address changing. */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createResponder, discover } from '../../src/index.js';
import { createTestNetwork, mockTime, type TestHost } from '../../src/testing/index.js';

/** Which of 40 datagrams sent across a LAN with `loss` arrive, for `seed`. */
async function pattern(seed: number, loss: number): Promise<number[]> {
  const network = createTestNetwork({ seed });
  const lan = network.lan({ name: 'lossy', ipv4: '10.0.0.0/24' });
  const a = network.host({ name: 'a', interfaces: [{ lan }] });
  const b = network.host({ name: 'b', interfaces: [{ lan, ipv4: '10.0.0.2' }] });
  network.loss(lan, loss);
  const receiver = b.socketFactory({ type: 'udp4' });
  const heard: number[] = [];
  receiver.on('message', (message) => heard.push(message.readUInt8(0)));
  await new Promise<void>((resolve) => receiver.bind(7000, resolve));
  const sender = a.socketFactory({ type: 'udp4' });
  for (let i = 0; i < 40; i++) {
    await new Promise((resolve) => sender.send(Buffer.from([i]), 7000, '10.0.0.2', resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  sender.close();
  receiver.close();
  return heard;
}

async function started(network: ReturnType<typeof createTestNetwork>, host: TestHost) {
  const responder = createResponder({
    ...network.responderOptions(host),
    port: 5000,
    family: 'IPv4',
  });
  await responder.start();
  return responder;
}

/** A discover() across a lossy LAN under mocked time: what was sent and heard, in order. */
async function lossyRun(t: TestContext, seed: number): Promise<string[]> {
  const time = mockTime(t.mock);
  try {
    const network = createTestNetwork({ seed });
    const lan = network.lan({ name: 'lossy', ipv4: '10.0.0.0/24' });
    const servers = [1, 2, 3].map((n) =>
      network.host({ name: `s${n}`, interfaces: [{ lan, ipv4: `10.0.0.${n}` }] }),
    );
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan, ipv4: '10.0.0.9' }] });
    const responders = servers.map((host) =>
      createResponder({
        ...network.responderOptions(host),
        port: 5000,
        family: 'IPv4',
        announce: false,
      }),
    );
    const starting = Promise.all(responders.map((r) => r.start()));
    await time.advance(100);
    await starting;
    network.loss(lan, 0.6);
    const events: string[] = [];
    const running = discover({
      ...network.clientOptions(kiosk),
      port: 5000,
      timeout: 1000,
      trace: (event) => {
        if (event.type === 'reply') events.push(`${event.from} ${event.outcome}`);
      },
    });
    await time.advance(1_200);
    const found = await running;
    events.push(`found ${found.map((s) => s.ip).join(',')}`);
    const stopping = Promise.all(responders.map((r) => r.stop()));
    await time.advance(100);
    await stopping;
    return events;
  } finally {
    t.mock.reset();
  }
}

describe('beckon/testing: faults', () => {
  it('discover() across a lossy LAN under mocked time: the same seed, the same run', async (t) => {
    const first = await lossyRun(t, 5);
    const again = await lossyRun(t, 5);
    const other = await lossyRun(t, 6);
    assert.deepEqual(first, again);
    assert.notDeepEqual(first, other);
    assert.ok(first.length > 1, first.join('; '));
  });

  it('loss is deterministic per seed: the same seed loses the same datagrams', async () => {
    const first = await pattern(42, 0.5);
    const again = await pattern(42, 0.5);
    const other = await pattern(43, 0.5);
    assert.deepEqual(first, again);
    assert.notDeepEqual(first, other);
    assert.ok(first.length > 5 && first.length < 35, `${first.length} of 40 arrived`);
    assert.equal((await pattern(1, 0)).length, 40);
    assert.equal((await pattern(1, 1)).length, 0);
  });

  it('latency delays delivery by a timer', async () => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'slow', ipv4: '10.0.0.0/24' });
    const a = network.host({ name: 'a', interfaces: [{ lan }] });
    const b = network.host({ name: 'b', interfaces: [{ lan, ipv4: '10.0.0.2' }] });
    network.latency(lan, 150);
    const receiver = b.socketFactory({ type: 'udp4' });
    const arrived = new Promise<number>((resolve) =>
      receiver.on('message', () => resolve(performance.now())),
    );
    await new Promise<void>((resolve) => receiver.bind(7000, resolve));
    const sender = a.socketFactory({ type: 'udp4' });
    const sentAt = performance.now();
    sender.send(Buffer.from('x'), 7000, '10.0.0.2');
    const took = (await arrived) - sentAt;
    assert.ok(took >= 140, `arrived after ${took} ms`);
    sender.close();
    receiver.close();
  });

  it('a link that is down leaves the interface list and carries nothing; up again, it does', async (t) => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const responder = await started(network, server);
    t.after(() => responder.stop());
    const options = { ...network.clientOptions(kiosk), port: 5000, timeout: 300 };
    server.link(lan).down();
    assert.deepEqual(
      server.interfaceProvider().map((i) => i.name),
      ['lo'],
    );
    assert.deepEqual(await discover(options), []);
    server.link(lan).up();
    assert.deepEqual(
      (await discover(options)).map((s) => s.ip),
      ['10.0.0.5'],
    );
  });

  it('an address change: the server is found at its new address', async (t) => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const responder = await started(network, server);
    t.after(() => responder.stop());
    const options = { ...network.clientOptions(kiosk), port: 5000, timeout: 300 };
    assert.deepEqual(
      (await discover(options)).map((s) => s.ip),
      ['10.0.0.5'],
    );
    server.setAddress(lan, { ipv4: '10.0.0.50' });
    assert.equal(server.interfaceProvider().find((i) => i.name === 'eth0')?.address, '10.0.0.50');
    assert.deepEqual(
      (await discover(options)).map((s) => s.ip),
      ['10.0.0.50'],
    );
  });

  it('a vanished host answers nothing; a unicast to nobody is dropped silently', async (t) => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const server = network.host({ name: 'server', interfaces: [{ lan }] });
    const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
    const responder = await started(network, server);
    t.after(() => responder.stop());
    server.vanish();
    assert.deepEqual(
      await discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 }),
      [],
    );
    const socket = kiosk.socketFactory({ type: 'udp4' });
    const error = await new Promise((resolve) =>
      socket.send(Buffer.from('x'), 9, '10.0.0.200', resolve),
    );
    assert.equal(error, null);
    const unreachable = await new Promise((resolve) =>
      socket.send(Buffer.from('x'), 9, '172.16.0.1', resolve),
    );
    assert.equal((unreachable as NodeJS.ErrnoException).code, 'ENETUNREACH');
    socket.close();
  });

  it('a broadcast needs setBroadcast, reaches sockets bound to any address, not to a unicast one', async () => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const a = network.host({ name: 'a', interfaces: [{ lan }] });
    const b = network.host({ name: 'b', interfaces: [{ lan, ipv4: '10.0.0.2' }] });
    const any = b.socketFactory({ type: 'udp4', reuseAddr: true });
    const unicast = b.socketFactory({ type: 'udp4', reuseAddr: true });
    const heard: string[] = [];
    any.on('message', (_m, remote) => heard.push(`any from ${remote.address} ${remote.family}`));
    unicast.on('message', () => heard.push('unicast'));
    await new Promise<void>((resolve) => any.bind(7000, '0.0.0.0', resolve));
    await new Promise<void>((resolve) => unicast.bind(7000, '10.0.0.2', resolve));
    const sender = a.socketFactory({ type: 'udp4' });
    await new Promise<void>((resolve) => sender.bind(0, resolve));
    const denied = await new Promise((resolve) => sender.send('x', 7000, '10.0.0.255', resolve));
    assert.equal((denied as NodeJS.ErrnoException).code, 'EACCES');
    sender.setBroadcast(true);
    await new Promise((resolve) => sender.send('x', 7000, '10.0.0.255', resolve));
    await new Promise((resolve) => sender.send('x', 7000, '255.255.255.255', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(heard, [`any from ${a.ipv4} IPv4`, `any from ${a.ipv4} IPv4`]);
    // A second non-reuseAddr bind on the port is refused, as by the kernel.
    const third = b.socketFactory({ type: 'udp4' });
    const failure = await new Promise((resolve) => {
      third.once('error', resolve);
      third.bind(7000);
    });
    assert.equal((failure as NodeJS.ErrnoException).code, 'EADDRINUSE');
    for (const socket of [any, unicast, sender]) socket.close();
  });
  it("the sender's host hears its own broadcast and multicast at once, whatever the LAN loses or delays", async () => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'bad', ipv4: '10.0.0.0/24' });
    const host = network.host({ name: 'host', interfaces: [{ lan, ipv4: '10.0.0.1' }] });
    const other = network.host({ name: 'other', interfaces: [{ lan, ipv4: '10.0.0.2' }] });
    network.loss(lan, 1);
    network.latency(lan, 2_000);
    const heard: string[] = [];
    const sockets = [host, other].map((h) => {
      const socket = h.socketFactory({ type: 'udp4', reuseAddr: true });
      socket.on('message', (message) => heard.push(`${h.name}:${message}`));
      return socket;
    });
    await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.bind(7000, resolve))));
    sockets[0]?.addMembership('239.255.98.107', '10.0.0.1');
    sockets[1]?.addMembership('239.255.98.107', '10.0.0.2');
    const sender = host.socketFactory({ type: 'udp4' });
    await new Promise<void>((resolve) => sender.bind(0, resolve));
    sender.setBroadcast(true);
    sender.setMulticastInterface('10.0.0.1');
    for (const to of ['10.0.0.255', '255.255.255.255', '239.255.98.107']) {
      await new Promise((resolve) => sender.send(to, 7000, to, resolve));
    }
    const until = Date.now() + 1_000; // well before the 2 s the LAN takes
    while (heard.length < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(heard, ['host:10.0.0.255', 'host:255.255.255.255', 'host:239.255.98.107']);
    for (const socket of [...sockets, sender]) socket.close();
  });
});
