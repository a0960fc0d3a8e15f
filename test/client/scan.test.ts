// Subnet scans on loopback only: 127.0.0.0/8 is this host's, so every probe stays on it.
import assert from 'node:assert/strict';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { afterEach, describe, it } from 'node:test';
import type { TraceEvent } from '../../src/client/trace.js';
import { createResponder, discover, discoverOne, watch } from '../../src/index.js';
import { describeAddress } from '../../src/network/interfaces.js';
import type { SocketFactory } from '../../src/network/socket.js';
import { isExtended } from '../../src/protocol/extended.js';
import { recordingLogger } from '../helpers/logger.js';
import { freeUdpPort, LOCAL, sleep, udpPeer } from '../helpers/udp.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0).reverse()) await task();
});

/** beckon responders bound on these loopback addresses, all on one free port. */
async function responders(addresses: readonly string[]): Promise<number> {
  const port = await freeUdpPort();
  for (const address of addresses) {
    const responder = createResponder({
      joinGroups: false,
      port,
      bindAddress: address,
      env: {},
      rateLimit: 0,
      name: `at-${address}`,
    });
    await responder.start();
    cleanup.push(() => responder.stop());
  }
  return port;
}

/** A socket on 0.0.0.0 that hears every probe to 127.0.0.0/8 on its port, with arrival times. */
async function probeCounter() {
  const arrivals: number[] = [];
  const peer = await udpPeer(() => arrivals.push(performance.now()), '0.0.0.0');
  cleanup.push(() => peer.close());
  return { port: peer.port, arrivals };
}

/** A UDP socket bound on `address`:`port` that answers through `onMessage`. */
async function udpPeerOn(
  address: string,
  port: number,
  onMessage: (message: Buffer, remote: RemoteInfo, socket: Socket) => void,
) {
  const socket = createSocket('udp4');
  socket.on('message', (message, remote) => onMessage(message, remote, socket));
  socket.bind(port, address);
  await once(socket, 'listening');
  return { socket, close: () => socket.close() };
}

/**
 * Sockets that record where they would send and send nothing: for scans of ranges that are not
 * loopback, which must never leave the host.
 */
function recordingSockets(sent: string[]): SocketFactory {
  return (options) => {
    const socket = createSocket(options);
    socket.send = ((_message: Buffer, _port: number, address: string, callback?: () => void) => {
      sent.push(address);
      queueMicrotask(() => callback?.());
    }) as unknown as Socket['send'];
    return socket;
  };
}

/** The most arrivals in any window of `ms`. */
function busiest(times: readonly number[], ms: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while ((times[j] ?? 0) <= (times[i] ?? 0) - ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

const ofType = <K extends TraceEvent['type']>(events: readonly TraceEvent[], type: K) =>
  events.filter((e): e is Extract<TraceEvent, { type: K }> => e.type === type);

describe('subnet scan on loopback', () => {
  it('finds servers in the range with via scan, named, and lasts until the scan is done + 1 s', async () => {
    const port = await responders(['127.0.0.5', '127.0.0.120']);
    const events: TraceEvent[] = [];
    const started = performance.now();
    // 125 addresses (network, broadcast and this host's 127.0.0.1 left out) at 50/s: 2.5 s.
    const servers = await discover({
      port,
      env: {},
      broadcast: false,
      scan: '127.0.0.0/25',
      scanRate: 50,
      trace: (event) => events.push(event),
    });
    const elapsed = performance.now() - started;
    assert.deepEqual(
      servers.map((s) => [s.ip, s.via, s.metadata?.name]),
      [
        ['127.0.0.5', 'scan', 'at-127.0.0.5'],
        ['127.0.0.120', 'scan', 'at-127.0.0.120'],
      ],
    );
    assert.ok(servers.every((s) => s.addresses.every((a) => a.via === 'scan')));
    const [start] = ofType(events, 'scan-start');
    assert.deepEqual(start?.ranges, ['127.0.0.0/25']);
    assert.equal(start?.addresses, 125);
    assert.equal(start?.rate, 50);
    const [done] = ofType(events, 'scan-done');
    assert.equal(done?.complete, true);
    assert.equal(done?.probed, 125);
    assert.equal(done?.found, 2);
    assert.ok((done?.ms ?? 0) >= 2300, `scan took ${done?.ms} ms`);
    // The default timeout (2 s) is shorter than the scan: the run ends 1 s after it.
    assert.ok(elapsed >= (done?.atMs ?? 0) + 900, `ended ${elapsed - (done?.atMs ?? 0)} ms after`);
    assert.ok(elapsed < (done?.atMs ?? 0) + 2500, `ended ${elapsed - (done?.atMs ?? 0)} ms after`);
    assert.equal(ofType(events, 'end')[0]?.reason, 'deadline');
    assert.ok(ofType(events, 'scan-progress').length >= 5);
  });

  it('an original server in the range answers the plain request; it is asked to identify once', async () => {
    const port = await freeUdpPort();
    const received: string[] = [];
    // An original (plain-only) server on 127.0.0.66: it answers DISCOVER_SERVER, ignores the rest.
    const peer = await udpPeerOn('127.0.0.66', port, (message, remote, socket) => {
      const extended = isExtended(message);
      received.push(extended ? 'extended' : message.toString());
      if (!extended) socket.send('SERVER_IP:127.0.0.66:8066', remote.port, remote.address);
    });
    cleanup.push(() => peer.close());
    const servers = await discover({
      port,
      env: {},
      broadcast: false,
      scan: '127.0.0.64/28',
      timeout: 1200,
    });
    assert.deepEqual(
      servers.map((s) => [s.ip, s.port, s.via, s.metadata]),
      [['127.0.0.66', 8066, 'scan', undefined]],
    );
    // The probe, then one extended request after its plain answer; later retry rounds ask it
    // again like a target (both requests each round).
    assert.equal(received[0], 'DISCOVER_SERVER');
    assert.equal(received[1], 'extended');
    const rounds = received.filter((r) => r === 'DISCOVER_SERVER').length;
    assert.ok(received.filter((r) => r === 'extended').length <= rounds, received.join(' '));
  });

  it("measures a plain answer's RTT from its own probe, not from the latest batch", async () => {
    const port = await freeUdpPort();
    const server = await udpPeerOn('127.0.0.33', port, (message, remote, socket) => {
      if (isExtended(message)) return;
      const reply = () => socket.send('SERVER_IP:127.0.0.33:8000', remote.port, remote.address);
      setTimeout(reply, 150);
    });
    cleanup.push(() => server.close());
    // 127.0.0.33 is probed first; 29 more probes follow over the next 290 ms.
    const [found] = await discover({
      port,
      env: {},
      broadcast: false,
      scan: '127.0.0.32/27',
      scanRate: 100,
      timeout: 600,
      retries: 0,
    });
    assert.equal(found?.ip, '127.0.0.33');
    assert.ok((found?.rttMs ?? 0) >= 140 && (found?.rttMs ?? 0) < 700, `rtt ${found?.rttMs} ms`);
  });

  it('asks again only addresses it scanned: a reply from elsewhere aims no request there', async () => {
    const port = await freeUdpPort();
    const outside: string[] = [];
    // 127.0.0.99 is outside the range; it answers the probes that 127.0.0.66 receives.
    const elsewhere = await udpPeerOn('127.0.0.99', port, (message) => {
      outside.push(isExtended(message) ? 'extended' : message.toString());
    });
    cleanup.push(() => elsewhere.close());
    const inside = await udpPeerOn('127.0.0.66', port, (message, remote) => {
      if (isExtended(message)) return;
      elsewhere.socket.send('SERVER_IP:127.0.0.99:8000', remote.port, remote.address);
    });
    cleanup.push(() => inside.close());
    const servers = await discover({
      port,
      env: {},
      broadcast: false,
      scan: '127.0.0.64/28',
      timeout: 1000,
    });
    assert.deepEqual(
      servers.map((s) => s.ip),
      ['127.0.0.99'],
    );
    assert.deepEqual(outside, []);
  });

  it('in extended mode, probes with the extended request: only the service asked answers', async () => {
    const port = await freeUdpPort();
    for (const [address, service] of [
      ['127.0.0.21', 'orders'],
      ['127.0.0.22', 'billing'],
    ] as const) {
      const responder = createResponder({
        joinGroups: false,
        port,
        bindAddress: address,
        env: {},
        rateLimit: 0,
        service,
      });
      await responder.start();
      cleanup.push(() => responder.stop());
    }
    const servers = await discover({
      port,
      env: {},
      broadcast: false,
      scan: '127.0.0.16/28',
      service: 'orders',
      timeout: 1000,
    });
    assert.deepEqual(
      servers.map((s) => [s.ip, s.via, s.metadata?.service]),
      [['127.0.0.21', 'scan', 'orders']],
    );
  });

  it("auto: nothing found on a segmented network scans the interface's /16, own /24 first", async () => {
    // The host is made to look as if eth0 were 10.20.5.7/16. Nothing leaves it: every socket
    // the run opens records what it would send and sends nothing.
    const sent: string[] = [];
    const socketFactory = recordingSockets(sent);
    const eth0 = describeAddress('eth0', '10.20.5.7', 16, true, {});
    const events: TraceEvent[] = [];
    const controller = new AbortController();
    const run = discover({
      port: 9,
      env: {},
      broadcast: false,
      scan: 'auto',
      scanRate: 2000,
      socketFactory,
      interfaceProvider: () => [eth0],
      signal: controller.signal,
      trace: (event) => {
        events.push(event);
        if (event.type === 'scan-progress') controller.abort(new Error('seen enough'));
      },
    });
    await assert.rejects(run, /seen enough/);
    const [start] = ofType(events, 'scan-start');
    assert.ok(start, 'a scan started');
    assert.deepEqual(start.ranges, ['10.20.0.0/16']);
    assert.equal(start.auto, true);
    assert.deepEqual(start.interfaces, ['eth0']);
    assert.equal(start.addresses, 65_533);
    // On eth0's subnet: slowed to a quarter of the neighbour table a second (Linux).
    const limit = Number(readFileSync('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8'));
    assert.equal(start.rate, Math.min(2000, Math.floor(limit / 4)));
    assert.ok(start.atMs >= 900 && start.atMs < 2500, `scanned after ${start.atMs} ms`);
    assert.deepEqual(sent.slice(0, 7), [
      '10.20.5.0',
      '10.20.5.1',
      '10.20.5.2',
      '10.20.5.3',
      '10.20.5.4',
      '10.20.5.5',
      '10.20.5.6',
    ]);
    assert.equal(sent[7], '10.20.5.8'); // its own address left out
    assert.ok(sent.every((to) => to.startsWith('10.20.')));
  });

  it('auto: the run lasts until the scan is done, plus 1 s', async () => {
    const sent: string[] = [];
    const socketFactory = recordingSockets(sent);
    // A /23: 509 addresses. On-link (eth0's subnet), so at most a quarter of the neighbour
    // table a second (256/s with Linux's default 1024): 2 s from 1 s on; the run ends 4 s in.
    const events: TraceEvent[] = [];
    const started = performance.now();
    await discover({
      port: 9,
      env: {},
      broadcast: false,
      scan: 'auto',
      scanRate: 500,
      socketFactory,
      interfaceProvider: () => [describeAddress('eth0', '10.20.5.7', 23, true, {})],
      trace: (event) => events.push(event),
    });
    const elapsed = performance.now() - started;
    const [done] = ofType(events, 'scan-done');
    assert.equal(done?.complete, true);
    assert.equal(done?.probed, 509);
    assert.equal(new Set(sent).size, 509);
    assert.ok(
      elapsed >= (done?.atMs ?? 0) + 900 && elapsed < (done?.atMs ?? 0) + 2000,
      `${elapsed}`,
    );
    assert.ok(elapsed > 3500, `ran ${elapsed} ms`);
  });

  it('auto: a network that is not segmented is not scanned, and the trace says why', async () => {
    const port = await freeUdpPort();
    const events: TraceEvent[] = [];
    await discover({
      ...LOCAL,
      port,
      scan: 'auto',
      timeout: 400,
      trace: (event) => events.push(event),
    });
    const [skipped] = ofType(events, 'scan-skipped');
    assert.equal(skipped?.reason, 'not-segmented');
    assert.ok((skipped?.atMs ?? 0) >= 180 && (skipped?.atMs ?? 0) < 700, `at ${skipped?.atMs}`);
    assert.deepEqual(ofType(events, 'scan-start'), []);
  });

  it('holds the rate on the wire: every address once, never a burst above it', async () => {
    const counter = await probeCounter();
    const events: TraceEvent[] = [];
    // The send calls, timed by wrapping the sockets' send (they still send).
    const calls: number[] = [];
    const socketFactory: SocketFactory = (options) => {
      const socket = createSocket(options);
      const send = socket.send.bind(socket) as (...args: unknown[]) => void;
      socket.send = ((...args: unknown[]) => {
        calls.push(performance.now());
        send(...args);
      }) as unknown as Socket['send'];
      return socket;
    };
    await discover({
      port: counter.port,
      env: {},
      broadcast: false,
      scan: '127.0.0.0/24',
      scanRate: 400,
      timeout: 1500,
      socketFactory,
      trace: (event) => events.push(event),
    });
    const { arrivals } = counter;
    assert.equal(arrivals.length, 253);
    assert.equal(calls.length, 253);
    const span = (arrivals.at(-1) ?? 0) - (arrivals[0] ?? 0);
    const measured = ((arrivals.length - 1) / span) * 1000;
    // 40 per 100 ms at 400/s, as sent; arrivals are stamped by this busy process: some slack.
    assert.ok(busiest(calls, 100) <= 40, `busiest 100 ms of sends: ${busiest(calls, 100)}`);
    assert.ok(
      busiest(arrivals, 100) <= 60,
      `busiest 100 ms of arrivals: ${busiest(arrivals, 100)}`,
    );
    assert.ok(measured <= 440, `measured ${measured.toFixed(0)}/s`);
    assert.ok(span >= 560, `253 probes in ${span.toFixed(0)} ms`);
    console.log(`# scan rate on loopback: ${measured.toFixed(0)} probes/s (asked 400)`);
    assert.equal(ofType(events, 'scan-done')[0]?.failed, 0);
  });

  it('discoverOne stops at the first server found, and the scan with it', async () => {
    const port = await responders(['127.0.0.3']);
    const events: TraceEvent[] = [];
    const started = performance.now();
    const server = await discoverOne({
      port,
      env: {},
      broadcast: false,
      scan: '127.0.0.0/24',
      scanRate: 100,
      trace: (event) => events.push(event),
    });
    assert.equal(server?.ip, '127.0.0.3');
    assert.equal(server?.via, 'scan');
    assert.ok(performance.now() - started < 3000);
    const [done] = ofType(events, 'scan-done');
    assert.equal(done?.complete, false);
    assert.ok((done?.probed ?? 253) < 100, `probed ${done?.probed}`);
  });

  it('stops probing at once on abort', async () => {
    const counter = await probeCounter();
    const controller = new AbortController();
    const run = discover({
      port: counter.port,
      env: {},
      broadcast: false,
      scan: '127.0.0.0/24',
      scanRate: 200,
      signal: controller.signal,
    });
    await sleep(300);
    controller.abort(new Error('enough'));
    await assert.rejects(run, /enough/);
    const count = counter.arrivals.length;
    assert.ok(count > 20 && count < 120, `${count} probes in 300 ms`);
    await sleep(300);
    assert.equal(counter.arrivals.length, count);
  });

  it('with a timeout too short for the scan: warns what it covers, and stops at it', async () => {
    const counter = await probeCounter();
    const logger = recordingLogger();
    const started = performance.now();
    await discover({
      port: counter.port,
      env: {},
      broadcast: false,
      scan: ['127.0.0.0/24'],
      scanRate: 100,
      timeout: 600,
      logger,
    });
    const elapsed = performance.now() - started;
    assert.ok(elapsed < 2000, `ran ${elapsed} ms`);
    const warning = logger.warnings.find((w) => w.startsWith('Scanning'));
    assert.match(
      warning ?? '',
      /^Scanning 253 addresses at 100\/s needs 2\.5 s; the timeout of 0\.6 s covers about 5\d of them/,
    );
    await sleep(200);
    const count = counter.arrivals.length;
    assert.ok(count >= 30 && count <= 80, `${count} probes`);
  });

  it('watch() scans once at the start: the server comes up via scan', async () => {
    const port = await responders(['127.0.0.9']);
    const watcher = watch({ port, env: {}, broadcast: false, scan: '127.0.0.0/28' });
    cleanup.push(() => watcher.close());
    const [server] = await once(watcher, 'up');
    assert.equal(server.ip, '127.0.0.9');
    assert.equal(server.via, 'scan');
  });

  it('watch(): a server found by the scan is kept up by unicast refreshes, and expires when it stops', async () => {
    const port = await freeUdpPort();
    const responder = createResponder({
      joinGroups: false,
      port,
      bindAddress: '127.0.0.10',
      env: {},
      rateLimit: 0,
      lease: 1000,
      announcePort: await freeUdpPort(), // its announcements reach no one
    });
    await responder.start();
    let stopped = false;
    cleanup.push(() => stopped || responder.stop());
    const events: string[] = [];
    const watcher = watch({
      port,
      env: {},
      broadcast: false,
      scan: '127.0.0.8/29',
      announcePort: await freeUdpPort(),
    });
    cleanup.push(() => watcher.close());
    watcher.on('up', (s) => events.push(`up ${s.ip} ${s.via}`));
    watcher.on('down', (s, reason) => events.push(`down ${s.ip} ${reason}`));
    await sleep(3500); // three and a half leases: refreshed by unicast, else it would expire
    assert.deepEqual(events, ['up 127.0.0.10 scan']);
    await responder.stop();
    stopped = true;
    const started = performance.now();
    while (events.length < 2 && performance.now() - started < 5000) await sleep(50);
    assert.deepEqual(events, ['up 127.0.0.10 scan', 'down 127.0.0.10 expired']);
  });
});
