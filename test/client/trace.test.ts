import assert from 'node:assert/strict';
import type { RemoteInfo } from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, it } from 'node:test';
import { discover } from '../../src/client/discover.js';
import { DISCOVER_CHANNEL, type TraceEvent } from '../../src/client/trace.js';
import { RESPONDER_CHANNEL } from '../../src/responder/events.js';
import { createResponder } from '../../src/responder/responder.js';
import { ask, freeUdpPort, LOCAL, sleep, udpPeer } from '../helpers/udp.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task();
});

/** Subscribes to a diagnostics channel until the end of the test. */
function listen<T>(name: string): T[] {
  const received: T[] = [];
  const onMessage = (message: unknown) => received.push(message as T);
  subscribe(name, onMessage);
  cleanup.push(() => unsubscribe(name, onMessage));
  return received;
}

/** A fake server on 0.0.0.0 (to receive broadcasts) that answers requests through `answer`. */
async function fakeServer(answer: (count: number, remote: RemoteInfo) => readonly string[]) {
  let count = 0;
  const peer = await udpPeer((_message, remote, socket) => {
    for (const reply of answer(++count, remote)) socket.send(reply, remote.port, remote.address);
  }, '0.0.0.0');
  cleanup.push(() => peer.close());
  return { port: peer.port, requests: () => count };
}

const ofType = <K extends TraceEvent['type']>(events: readonly TraceEvent[], type: K) =>
  events.filter((e): e is Extract<TraceEvent, { type: K }> => e.type === type);

describe('discover trace', () => {
  it('traces interfaces, sends, each reply outcome and the end', async () => {
    // The first request gets a valid reply twice, garbage, and a reply claiming another host.
    const server = await fakeServer((count) =>
      count === 1
        ? [
            'SERVER_IP:127.0.0.1:8080',
            'SERVER_IP:127.0.0.1:8080',
            'garbage',
            'SERVER_IP:10.9.9.9:80',
          ]
        : [],
    );
    const published = listen<TraceEvent>(DISCOVER_CHANNEL);
    const events: TraceEvent[] = [];
    const servers = await discover({
      ...LOCAL,
      family: 'IPv4',
      port: server.port,
      timeout: 700,
      retries: 2,
      trace: (event) => events.push(event),
    });
    assert.deepEqual(
      servers.map((s) => s.url),
      ['http://127.0.0.1:8080'],
    );

    const run = events[0]?.run;
    assert.equal(typeof run, 'number');
    assert.ok(events.every((e) => e.run === run && e.atMs >= 0));

    const lo = ofType(events, 'interface').filter((e) => e.interface === 'lo');
    assert.deepEqual(
      lo.map(({ interface: name, address, class: kind, broadcast, skipped }) => ({
        name,
        address,
        kind,
        broadcast,
        skipped,
      })),
      [
        {
          name: 'lo',
          address: '127.0.0.1',
          kind: 'loopback',
          broadcast: '127.255.255.255',
          skipped: undefined,
        },
      ],
    );

    const sends = ofType(events, 'send');
    const plain = sends.filter((s) => s.bytes === 'DISCOVER_SERVER'.length);
    assert.ok(plain.length >= 1, 'at least one send');
    assert.deepEqual(
      plain.map((s) => s.round),
      plain.map((_, i) => i + 1),
    );
    // Loopback has no multicast: its broadcast also carries the extended request each round,
    // whose answer would name a beckon server's instance (docs/ipv6.md).
    assert.equal(sends.length, plain.length * 2);
    for (const send of sends) {
      assert.equal(send.channel, 'lo');
      assert.equal(send.family, 'IPv4');
      assert.equal(send.from, '127.0.0.1');
      assert.equal(send.to, '127.255.255.255');
      assert.equal(send.port, server.port);
      assert.equal(send.error, undefined);
    }
    assert.equal(sends.length, server.requests());

    const replies = ofType(events, 'reply');
    assert.deepEqual(
      replies.map((r) => [r.outcome, r.claims]),
      [
        ['accepted', '127.0.0.1:8080'],
        ['duplicate', '127.0.0.1:8080'],
        ['malformed', undefined],
        ['foreign', '10.9.9.9:80'],
      ],
    );
    for (const reply of replies) {
      assert.equal(reply.channel, 'lo');
      assert.equal(reply.from, '127.0.0.1');
      assert.equal(reply.fromPort, server.port);
    }
    assert.equal(replies[2]?.bytes, 'garbage'.length);

    const ends = ofType(events, 'end');
    assert.equal(ends.length, 1);
    assert.equal(events.at(-1), ends[0]);
    assert.equal(ends[0]?.found, servers.length);
    assert.equal(ends[0]?.reason, 'deadline');

    // The same events, in the same order, went to the diagnostics channel.
    assert.deepEqual(
      published.filter((e) => e.run === run),
      events,
    );
  });

  it('traces IPv6 links, sends and replies beside IPv4, one server with both addresses', async () => {
    const responder = createResponder({
      ...{ port: 0, env: {}, httpPort: 8086, rateLimit: 0 },
      joinGroups: false, // no membership reports out of the host's interfaces
    });
    await responder.start();
    cleanup.push(() => responder.stop());
    const events: TraceEvent[] = [];
    const servers = await discover({
      ...LOCAL,
      port: responder.port ?? 0,
      timeout: 500,
      trace: (event) => events.push(event),
    });
    const [link] = ofType(events, 'link').filter((e) => e.interface === 'lo');
    assert.deepEqual([link?.group, link?.skipped, link?.addresses], ['::1', undefined, ['::1']]);
    const sends6 = ofType(events, 'send').filter((e) => e.family === 'IPv6');
    assert.ok(sends6.length >= 1);
    for (const send of sends6) assert.deepEqual([send.from, send.to], ['::', '::1']);
    const replies6 = ofType(events, 'reply').filter((e) => e.from === '::1');
    assert.equal(replies6[0]?.claims, '[::1]:8086');
    assert.ok(['accepted', 'merged'].includes(replies6[0]?.outcome ?? ''));
    assert.equal(servers.length, 1);
    // Both loopback: the same tier, so the RTT (beyond noise) then the family orders them.
    assert.deepEqual(servers[0]?.addresses.map((a) => [a.address, a.family, a.interface]).sort(), [
      ['127.0.0.1', 'IPv4', 'lo'],
      ['::1', 'IPv6', 'lo'],
    ]);
    assert.equal(servers[0]?.ip, servers[0]?.addresses[0]?.address);
  });

  it('publishes on the channel without a trace listener', async () => {
    const server = await fakeServer(() => ['SERVER_IP:127.0.0.1:81']);
    const published = listen<TraceEvent>(DISCOVER_CHANNEL);
    const servers = await discover({ ...LOCAL, port: server.port, timeout: 300, maxResults: 1 });
    assert.equal(servers.length, 1);
    const runs = new Set(
      published.filter((e) => e.type === 'reply' && e.fromPort === server.port).map((e) => e.run),
    );
    assert.equal(runs.size, 1);
    const ours = published.filter((e) => runs.has(e.run));
    assert.deepEqual(
      ofType(ours, 'reply').map((r) => r.outcome),
      ['accepted'],
    );
    assert.deepEqual(
      ofType(ours, 'end').map((e) => [e.reason, e.found]),
      [['max-results', 1]],
    );
  });

  it('traces an excluded interface and ends with nothing to send', async () => {
    const port = await freeUdpPort();
    const events: TraceEvent[] = [];
    const servers = await discover({
      ...LOCAL,
      exclude: ['lo'],
      port,
      timeout: 2000,
      trace: (event) => events.push(event),
    });
    assert.deepEqual(servers, []);
    const lo = ofType(events, 'interface').filter((e) => e.interface === 'lo');
    assert.deepEqual(
      lo.map((e) => [e.skipped, e.broadcast]),
      [['excluded', undefined]],
    );
    assert.deepEqual(ofType(events, 'send'), []);
    const ends = ofType(events, 'end');
    assert.deepEqual(
      ends.map((e) => [e.reason, e.found]),
      [['nothing-to-send', 0]],
    );
    // ended at once, not at the deadline
    assert.ok((ends[0]?.atMs ?? Number.POSITIVE_INFINITY) < 1000, `ended at ${ends[0]?.atMs} ms`);
  });

  it('keeps discovering when the trace listener throws', async () => {
    const server = await fakeServer(() => ['SERVER_IP:127.0.0.1:8080']);
    let calls = 0;
    const servers = await discover({
      ...LOCAL,
      port: server.port,
      timeout: 400,
      retries: 1,
      trace: () => {
        calls++;
        throw new Error('a broken listener');
      },
    });
    assert.deepEqual(
      servers.map((s) => s.url),
      ['http://127.0.0.1:8080'],
    );
    assert.ok(calls >= 4, `the listener was called ${calls} times`); // interface, send, reply, end
  });
});

describe('responder diagnostics channel', () => {
  it('publishes replies and drops with the responder port', async () => {
    const responder = createResponder({ joinGroups: false, port: 0, env: {}, httpPort: 8080 });
    await responder.start();
    cleanup.push(() => responder.stop());
    const port = responder.port;
    assert.ok(port, 'the responder is listening');
    const published = listen<Record<string, unknown>>(RESPONDER_CHANNEL);

    assert.deepEqual(await ask(port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:8080']);
    assert.deepEqual(await ask(port, 'not the request', 100), []);
    await sleep(20);

    const ours = published.filter((event) => event.port === port);
    assert.deepEqual(
      ours.map((event) => event.type),
      ['reply', 'drop'],
    );
    const [reply, drop] = ours;
    assert.equal(reply?.to, '127.0.0.1');
    assert.equal(typeof reply?.toPort, 'number');
    assert.equal(reply?.address, '127.0.0.1');
    assert.equal(reply?.kind, 'plain');
    assert.equal(reply?.reply, 'SERVER_IP:127.0.0.1:8080');
    assert.equal(reply?.bytes, 'SERVER_IP:127.0.0.1:8080'.length);
    assert.equal(drop?.from, '127.0.0.1');
    assert.equal(typeof drop?.fromPort, 'number');
    assert.equal(drop?.reason, 'not-a-request');
  });
});
