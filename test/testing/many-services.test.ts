/**
 * beckon/testing: several services on one simulated host share the discovery port over the
 * host's in-memory channel (docs/many-services.md), as on a real host: the first answers for
 * all, the others are `registered`, one takes over when it stops, keyed services sign through
 * the channel, and a vanished host takes them all away.
 */
import assert from 'node:assert/strict';
import { type EventEmitter, once } from 'node:events';
import { describe, it } from 'node:test';
import { HostRegistrant } from '../../src/host/registrant.js';
import { HostRegistry } from '../../src/host/registry.js';
import type { HostChannelStream } from '../../src/host/transport.js';

/** A channel stream is an EventEmitter (for `once()`). */
const emitter = (stream: HostChannelStream) => stream as unknown as EventEmitter;

import {
  createResponder,
  discover,
  type Responder,
  type ResponderOptions,
  type Server,
  watch,
} from '../../src/index.js';
import { createTestNetwork, type MockedTime, mockTime } from '../../src/testing/index.js';

const KEY = 'many-services-test-key-0123456789';

const SERVICES = [
  { service: 'orders', httpPort: 8001, metadata: { team: 'shop' } },
  { service: 'users', httpPort: 8002, metadata: { team: 'identity' } },
  { service: 'billing', httpPort: 8003, metadata: { team: 'finance' } },
] as const;

/** A LAN with a server host and a kiosk; the server's responders on the default port. */
function office() {
  const network = createTestNetwork();
  const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
  const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
  const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan, ipv4: '10.0.0.9' }] });
  const responders: Responder[] = [];
  const responder = (options: ResponderOptions) => {
    const created = createResponder({ ...network.responderOptions(server), ...options });
    responders.push(created);
    return created;
  };
  return { network, lan, server, kiosk, responder, responders };
}

/** `promise`, with mocked time moved on meanwhile when `time` is given. */
async function run<T>(promise: Promise<T>, time?: MockedTime, ms = 500): Promise<T> {
  if (time) await time.advance(ms);
  return promise;
}

/**
 * Lets the announcements and goodbyes already sent arrive (a `setTimeout(0)` each on the
 * simulated LAN): a discover() run that hears a service's announcement and then its goodbye
 * still lists it, so a run begun while they are in flight would see a service just stopped.
 */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

/** `service:httpPort:team` of each extended answer, sorted. */
const described = (found: readonly Server[]) =>
  found.map((s) => `${s.metadata?.service}:${s.port}:${s.metadata?.values.team} ${s.ip}`).sort();

describe('beckon/testing: many services on one host', () => {
  it('the second and third responder register with the first, which answers for all on the default port', async (t) => {
    const { network, kiosk, responder, responders } = office();
    t.after(() => Promise.all(responders.map((r) => r.stop())));
    for (const options of SERVICES) await responder(options).start();
    assert.deepEqual(
      responders.map((r) => [r.role, r.port]),
      [
        ['answering', 9999],
        ['registered', 9999],
        ['registered', 9999],
      ],
    );
    const client = { ...network.clientOptions(kiosk), timeout: 300 };
    // One extended answer per service, each with its own metadata and HTTP port.
    assert.deepEqual(described(await discover({ ...client, extended: true })), [
      'billing:8003:finance 10.0.0.5',
      'orders:8001:shop 10.0.0.5',
      'users:8002:identity 10.0.0.5',
    ]);
    assert.deepEqual(described(await discover({ ...client, service: 'users' })), [
      'users:8002:identity 10.0.0.5',
    ]);
    // The original's plain request: one reply per distinct address and HTTP port.
    const plain = await discover(client);
    assert.deepEqual(plain.map((s) => `${s.ip}:${s.port}`).sort(), [
      '10.0.0.5:8001',
      '10.0.0.5:8002',
      '10.0.0.5:8003',
    ]);
    // The channel is per host: a responder on another host answers for itself.
    const other = createResponder({ ...network.responderOptions(kiosk), httpPort: 9000 });
    await other.start();
    t.after(() => other.stop());
    assert.equal(other.role, 'answering');
  });

  it('a graceful stop of a registered responder removes its service at once', async (t) => {
    const { network, kiosk, responder, responders } = office();
    t.after(() => Promise.all(responders.map((r) => r.stop())));
    for (const options of SERVICES) await responder(options).start();
    await responders[1]?.stop();
    await settle();
    const found = await discover({ ...network.clientOptions(kiosk), extended: true, timeout: 300 });
    assert.deepEqual(described(found), [
      'billing:8003:finance 10.0.0.5',
      'orders:8001:shop 10.0.0.5',
    ]);
  });

  for (const mocked of [false, true]) {
    it(`when the answering responder stops, another takes over and the rest are still found${mocked ? ' (mocked time)' : ''}`, async (t) => {
      const time = mocked ? mockTime(t.mock) : undefined;
      const { network, kiosk, responder, responders } = office();
      t.after(() => Promise.all(responders.map((r) => r.stop())));
      for (const options of SERVICES) await run(responder(options).start(), time, 100);
      const [first, ...rest] = responders;
      assert.equal(first?.role, 'answering');
      const roles: string[] = [];
      for (const [i, r] of rest.entries()) {
        r.on('role', ({ role, port }) => roles.push(`${SERVICES[i + 1]?.service} ${role} ${port}`));
      }
      const tookOver = Promise.race(rest.map((r) => once(r, 'role')));
      const began = performance.now();
      await run(first?.stop() ?? Promise.resolve(), time, 100);
      await run(tookOver, time, 1_000);
      // Real time in one process (about 100 ms): 3 s leaves room for a loaded machine.
      if (!time) assert.ok(performance.now() - began < 3_000, 'took over within 3 s');
      // Exactly one took the port over; the other registered with it.
      await run(time ? Promise.resolve() : settle(), time, 200);
      assert.deepEqual(rest.map((r) => r.role).sort(), ['answering', 'registered'], roles.join());
      assert.ok(
        roles.some((line) => line.endsWith('answering 9999')),
        `role events: ${roles.join('; ')}`,
      );
      const finding = discover({ ...network.clientOptions(kiosk), extended: true, timeout: 300 });
      assert.deepEqual(described(await run(finding, time)), [
        'billing:8003:finance 10.0.0.5',
        'users:8002:identity 10.0.0.5',
      ]);
    });
  }

  it('a keyed service behind an open one answers only requests signed with its key, signing through the channel', async (t) => {
    const { network, kiosk, responder, responders } = office();
    t.after(() => Promise.all(responders.map((r) => r.stop())));
    await responder(SERVICES[0]).start();
    const keyed = responder({ ...SERVICES[1], authKeys: [KEY] });
    await keyed.start();
    assert.equal(keyed.role, 'registered'); // its key stays in it: the answer is signed there
    const client = { ...network.clientOptions(kiosk), timeout: 300 };
    assert.deepEqual(described(await discover({ ...client, extended: true })), [
      'orders:8001:shop 10.0.0.5',
    ]);
    const signed = await discover({ ...client, authKey: KEY });
    assert.deepEqual(described(signed), ['users:8002:identity 10.0.0.5']);
    assert.equal(signed[0]?.authenticated, true);
    const wrong = await discover({ ...client, authKey: `${KEY}-other` });
    assert.deepEqual(wrong, []);
  });

  it('host.vanish() takes every service away: watchers see all three down (mocked time)', async (t) => {
    const time = mockTime(t.mock);
    const { network, server, kiosk, responder, responders } = office();
    for (const options of SERVICES) await run(responder(options).start(), time, 100);
    const seen: string[] = [];
    const watcher = watch({ ...network.clientOptions(kiosk), extended: true });
    watcher.on('up', (s) => seen.push(`up ${s.metadata?.service}`));
    watcher.on('down', (s, reason) => seen.push(`down ${s.metadata?.service} ${reason}`));
    await time.advance(2_000);
    assert.deepEqual(seen.sort(), ['up billing', 'up orders', 'up users']);
    // Deaf and mute, the responders see nothing change on their own host: no takeover, no warning.
    const warnings: string[] = [];
    for (const r of responders) r.on('warning', (w) => warnings.push(w.message));
    const roles = responders.map((r) => r.role);
    server.vanish();
    await time.advance(20_000, 50);
    assert.deepEqual(seen.slice(3).sort(), [
      'down billing expired',
      'down orders expired',
      'down users expired',
    ]);
    const finding = discover({ ...network.clientOptions(kiosk), extended: true, timeout: 300 });
    assert.deepEqual(await run(finding, time), []);
    await run(watcher.close(), time, 100);
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      responders.map((r) => r.role),
      roles,
    );
    await run(Promise.all(responders.map((r) => r.stop())), time, 100);
    assert.deepEqual(
      responders.map((r) => r.listening),
      [false, false, false],
    );
  });
});

describe('beckon/testing: the in-memory host channel', () => {
  it('listen, connect, lines both ways, close: all on ticks, with timers mocked and never advanced', {
    timeout: 10_000,
  }, async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'setImmediate', 'Date'] });
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const host = network.host({ name: 'h', interfaces: [{ lan }] });
    const channel = host.hostChannel;
    const accepted: HostChannelStream[] = [];
    const listener = await channel.listen('a', (stream) => accepted.push(stream), assert.fail);
    await assert.rejects(
      channel.listen('a', () => {}, assert.fail),
      (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE',
    );
    const refused = channel.connect('b');
    const [error] = (await once(emitter(refused), 'error')) as [NodeJS.ErrnoException];
    assert.equal(error.code, 'ECONNREFUSED');

    const client = channel.connect('a');
    client.setEncoding('utf8');
    await once(emitter(client), 'connect');
    assert.equal(accepted.length, 1);
    const server = accepted[0] as HostChannelStream;
    server.setEncoding('utf8');
    const received: string[] = [];
    server.on('data', (chunk) => received.push(chunk));
    client.write('hello\n');
    assert.equal(client.writableLength, 6); // on its way: not taken yet
    await new Promise((resolve) => process.nextTick(resolve));
    assert.deepEqual(received, ['hello\n']);
    assert.equal(client.writableLength, 0);

    // What was written before a destroy is still read; then the other end closes.
    const replies: string[] = [];
    client.on('data', (chunk) => replies.push(chunk));
    const clientClosed = once(emitter(client), 'close');
    server.write('bye\n');
    server.destroy();
    assert.equal(server.writable, false);
    await clientClosed;
    assert.deepEqual(replies, ['bye\n']);
    assert.equal(client.writable, false);

    // A closed listener frees its path.
    await listener.close();
    const again = channel.connect('a');
    const [gone] = (await once(emitter(again), 'error')) as [NodeJS.ErrnoException];
    assert.equal(gone.code, 'ECONNREFUSED');
    await (await channel.listen('a', () => {}, assert.fail)).close();
  });

  it('HostRegistry and HostRegistrant over it: a record lives as long as its connection, vanish() or not', {
    timeout: 10_000,
  }, async () => {
    const network = createTestNetwork();
    const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
    const host = network.host({ name: 'h', interfaces: [{ lan }] });
    const transport = host.hostChannel;
    const registry = new HostRegistry({ path: '/beckon/9999', transport });
    await registry.listen();
    const changes: number[] = [];
    registry.on('change', (records) => changes.push(records.length));
    const registrant = new HostRegistrant({ path: '/beckon/9999', transport });
    await registrant.connect();
    await registrant.register({ instanceId: 'one', httpPort: 8001, pid: 1 });
    assert.deepEqual(
      registry.records.map((r) => r.instanceId),
      ['one'],
    );
    // Another host's channel is another channel.
    const elsewhere = network.host({ name: 'other', interfaces: [{ lan }] });
    await assert.rejects(
      new HostRegistrant({ path: '/beckon/9999', transport: elsewhere.hostChannel }).connect(),
      (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
    );
    // The host powering off leaves its local channel as it is.
    host.vanish();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(registrant.state, 'connected');
    assert.equal(registry.records.length, 1);
    registrant.close();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(registry.records, []);
    assert.deepEqual(changes, [1, 0]);
    await registry.close();
    await assert.rejects(
      new HostRegistrant({ path: '/beckon/9999', transport }).connect(),
      (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
    );
  });
});
