/** `worker: true`: the responder answers from a worker thread and relays what it does. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { netHostChannel } from '../../src/host/transport.js';
import {
  BindError,
  createResponder,
  type DropEvent,
  discoverOne,
  InvalidOptionError,
  type Logger,
  RESPONDER_CHANNEL,
  type ReplyEvent,
  type Responder,
  type ResponderOptions,
} from '../../src/index.js';
import { trackResponders } from '../helpers/responders.js';
import { ask, LOCAL, sleep, udpPeer } from '../helpers/udp.js';

const start = trackResponders({ worker: true });

/** A logger that keeps every line, as `level message`. */
function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = (level: string) => (message: string) => {
    lines.push(`${level} ${message}`);
  };
  return { lines, debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}

/** Threads of this process (Linux). */
const threadCount = () => readdirSync('/proc/self/task').length;

/**
 * The thread count once it holds still for 100 ms (at most 3 s): a thread of an earlier test may
 * still be winding down on a loaded machine.
 */
async function steadyThreadCount(): Promise<number> {
  let count = threadCount();
  const deadline = performance.now() + 3000;
  while (performance.now() < deadline) {
    await sleep(100);
    const next = threadCount();
    if (next === count) return count;
    count = next;
  }
  return count;
}

/** Binds a plain exclusive socket on 0.0.0.0:`port`, then closes it; rejects if it cannot. */
async function bindPlain(port: number): Promise<void> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ port, address: '0.0.0.0', exclusive: true }, () => resolve());
    });
  } finally {
    socket.close();
  }
}

/**
 * Sends `request` to the responder from one loopback socket every 100 ms until `done()` holds
 * or `limitMs` passes; returns whether `done()` held.
 */
async function pokeUntil(
  port: number,
  request: string,
  done: () => boolean,
  limitMs = 3000,
): Promise<boolean> {
  const peer = await udpPeer();
  try {
    const deadline = performance.now() + limitMs;
    while (!done() && performance.now() < deadline) {
      peer.socket.send(request, port, '127.0.0.1');
      await sleep(100);
    }
    return done();
  } finally {
    peer.close();
  }
}

describe('worker responder', () => {
  it('answers discovery on loopback from its thread', async () => {
    const responder = await start({ httpPort: 8080 });
    assert.equal(responder.settings.worker, true);
    assert.equal(responder.listening, true);
    assert.ok(responder.port > 0);
    const found = await discoverOne({ port: responder.port, ...LOCAL, timeout: 1000 });
    assert.ok(found, 'the worker responder was not discovered');
    assert.equal(found.url, 'http://127.0.0.1:8080');
    assert.equal(found.sourcePort, responder.port);
    assert.equal(found.interface, 'lo');
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:8080']);
  });

  it('resolves its settings from the given environment, and the thread uses them', async () => {
    const responder = await start({
      httpPort: 81,
      env: { RESPONSE_PREFIX: 'AT:', DISCOVERY_MESSAGE: 'WHO_IS_THERE' },
    });
    assert.equal(responder.settings.prefix, 'AT:');
    assert.equal(responder.settings.message, 'WHO_IS_THERE');
    assert.deepEqual(await ask(responder.port, 'WHO_IS_THERE'), ['AT:127.0.0.1:81']);
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER', 100), []);
  });

  it('relays reply and drop events to the main thread', async () => {
    const responder = createResponder({
      joinGroups: false,
      port: 0,
      env: {},
      worker: true,
      httpPort: 8080,
    });
    const replies: ReplyEvent[] = [];
    const drops: DropEvent[] = [];
    responder.on('reply', (event) => replies.push(event));
    responder.on('drop', (event) => drops.push(event));
    try {
      await responder.start();
      const port = responder.port ?? 0;
      const peer = await udpPeer();
      try {
        peer.socket.send('DISCOVER_SERVER', port, '127.0.0.1');
        peer.socket.send('NOT_A_REQUEST', port, '127.0.0.1');
        const deadline = performance.now() + 2000;
        while ((replies.length < 1 || drops.length < 1) && performance.now() < deadline) {
          await sleep(20);
        }
        assert.deepEqual(peer.received.map(String), ['SERVER_IP:127.0.0.1:8080']);
        assert.deepEqual(replies, [
          {
            to: '127.0.0.1',
            toPort: peer.port,
            address: '127.0.0.1',
            kind: 'plain',
            reply: 'SERVER_IP:127.0.0.1:8080',
            bytes: 'SERVER_IP:127.0.0.1:8080'.length,
            instanceId: responder.settings.metadata.instanceId,
          },
        ]);
        assert.deepEqual(drops, [
          { from: '127.0.0.1', fromPort: peer.port, reason: 'not-a-request' },
        ]);
      } finally {
        peer.close();
      }
    } finally {
      await responder.stop();
    }
  });

  it('starts relaying replies when a listener is added after start()', async () => {
    const responder = await start({ httpPort: 9 });
    const replies: ReplyEvent[] = [];
    responder.on('reply', (event) => replies.push(event));
    const relayed = await pokeUntil(responder.port, 'DISCOVER_SERVER', () => replies.length > 0);
    assert.ok(relayed, 'no reply event reached the main thread');
    assert.equal(replies[0]?.reply, 'SERVER_IP:127.0.0.1:9');
    assert.equal(replies[0]?.to, '127.0.0.1');
  });

  it('publishes on the beckon:responder channel when subscribed before start()', async () => {
    const messages: Record<string, unknown>[] = [];
    const onMessage = (message: unknown) => messages.push(message as Record<string, unknown>);
    subscribe(RESPONDER_CHANNEL, onMessage);
    try {
      const responder = await start({ httpPort: 8080 });
      const peer = await udpPeer();
      try {
        peer.socket.send('DISCOVER_SERVER', responder.port, '127.0.0.1');
        peer.socket.send('junk', responder.port, '127.0.0.1');
        const mine = () => messages.filter((m) => m.port === responder.port);
        const deadline = performance.now() + 2000;
        while (mine().length < 2 && performance.now() < deadline) await sleep(20);
        assert.deepEqual(
          mine().sort((a, b) => String(a.type).localeCompare(String(b.type))),
          [
            {
              type: 'drop',
              port: responder.port,
              from: '127.0.0.1',
              fromPort: peer.port,
              reason: 'not-a-request',
            },
            {
              type: 'reply',
              port: responder.port,
              to: '127.0.0.1',
              toPort: peer.port,
              address: '127.0.0.1',
              kind: 'plain',
              reply: 'SERVER_IP:127.0.0.1:8080',
              bytes: 24,
              instanceId: responder.settings.metadata.instanceId,
            },
          ],
        );
      } finally {
        peer.close();
      }
    } finally {
      unsubscribe(RESPONDER_CHANNEL, onMessage);
    }
  });

  it('notices a channel subscriber that comes after start() within its poll period', async () => {
    const responder = await start({ httpPort: 8080 });
    const replies: Record<string, unknown>[] = [];
    const onMessage = (message: unknown) => {
      const m = message as Record<string, unknown>;
      if (m.port === responder.port && m.type === 'reply') replies.push(m);
    };
    subscribe(RESPONDER_CHANNEL, onMessage);
    try {
      const started = performance.now();
      const seen = await pokeUntil(responder.port, 'DISCOVER_SERVER', () => replies.length > 0);
      assert.ok(seen, 'no reply was published within 3 s of subscribing');
      assert.ok(performance.now() - started < 2500, 'noticed later than the 1 s poll allows');
      assert.equal(replies[0]?.reply, 'SERVER_IP:127.0.0.1:8080');
    } finally {
      unsubscribe(RESPONDER_CHANNEL, onMessage);
    }
  });

  it('registers with the responder that holds the port, which answers for both', async () => {
    const first = await start({ httpPort: 1 });
    const second = createResponder({
      joinGroups: false,
      port: first.port,
      env: {},
      worker: true,
      httpPort: 2,
    });
    try {
      const roles: string[] = [];
      second.on('role', ({ role }) => roles.push(role));
      await second.start();
      assert.equal(second.role, 'registered');
      assert.deepEqual(roles, ['registered']);
      assert.equal(second.port, first.port);
      assert.deepEqual((await ask(first.port, 'DISCOVER_SERVER')).sort(), [
        'SERVER_IP:127.0.0.1:1',
        'SERVER_IP:127.0.0.1:2',
      ]);
    } finally {
      await second.stop();
    }
    assert.deepEqual(await ask(first.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:1']);
  });

  it('with shareHost off, rejects start() with a BindError naming the taken port', async () => {
    const first = await start({ httpPort: 1 });
    const second = createResponder({
      joinGroups: false,
      port: first.port,
      env: {},
      worker: true,
      shareHost: false,
    });
    try {
      await assert.rejects(second.start(), (error: unknown) => {
        assert.ok(error instanceof BindError, `not a BindError: ${String(error)}`);
        assert.equal(error.code, 'BECKON_ERR_BIND');
        assert.equal(error.port, first.port);
        assert.equal((error.cause as NodeJS.ErrnoException | undefined)?.code, 'EADDRINUSE');
        assert.match(error.message, new RegExp(`UDP port ${first.port} is already in use`));
        return true;
      });
      assert.equal(second.listening, false);
      assert.equal(second.port, undefined);
    } finally {
      await second.stop();
    }
    assert.deepEqual(await ask(first.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:1']);
  });

  it('stop() closes the socket and ends the thread', async () => {
    await readFile('/proc/self/status'); // the libuv thread pool exists before the baseline
    const before = await steadyThreadCount();
    const responder = await start({ httpPort: 2 });
    const port = responder.port;
    assert.ok(threadCount() > before, 'no thread was started');
    let closed = 0;
    responder.on('close', () => closed++);
    await responder.stop();
    assert.equal(await steadyThreadCount(), before, 'the thread is still running after stop()');
    assert.equal(closed, 1);
    assert.equal(responder.listening, false);
    assert.equal(responder.port, undefined);
    assert.deepEqual(await ask(port, 'DISCOVER_SERVER', 100), []);
    await bindPlain(port); // rejects with EADDRINUSE if the thread still holds the port
    await responder.stop();
    assert.equal(closed, 1, 'a second stop() emitted close again');
  });

  it('can be started again after stop()', async () => {
    const responder = await start({ httpPort: 3 });
    await responder.stop();
    await responder.start();
    assert.equal(responder.listening, true);
    const port = responder.port ?? 0;
    assert.deepEqual(await ask(port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:3']);
  });

  it('stops, and frees the port, when its signal aborts', async () => {
    const controller = new AbortController();
    const responder = await start({ signal: controller.signal });
    const port = responder.port;
    const closed = once(responder, 'close');
    controller.abort();
    await closed;
    assert.equal(responder.listening, false);
    await bindPlain(port);
  });

  it('answers extended requests with the instanceId of its settings', async () => {
    const responder = await start({ httpPort: 8080 });
    const { instanceId } = responder.settings.metadata;
    assert.match(instanceId, /^[0-9a-f-]{36}$/);
    const found = await discoverOne({
      port: responder.port,
      ...LOCAL,
      timeout: 1000,
      extended: true,
    });
    assert.ok(found, 'no extended answer');
    assert.equal(found.protocol, 'extended');
    assert.equal(found.metadata?.instanceId, instanceId);
    assert.equal(found.url, 'http://127.0.0.1:8080');
  });

  it('passes the extended metadata options to the thread', async () => {
    const responder = await start({
      httpPort: 8443,
      instanceId: 'node-7',
      name: 'Orders API',
      service: 'orders',
      version: '1.2.3',
      scheme: 'https',
      metadata: { region: 'eu' },
    });
    const found = await discoverOne({
      port: responder.port,
      ...LOCAL,
      timeout: 1000,
      extended: true,
    });
    assert.ok(found, 'no extended answer');
    assert.deepEqual(found.metadata, responder.settings.metadata);
    assert.equal(found.metadata?.instanceId, 'node-7');
    assert.equal(found.url, 'https://127.0.0.1:8443');
  });

  it("delivers the thread's log lines to the given logger", async () => {
    const logger = recordingLogger();
    const responder = await start({ logger });
    // The log line is posted before the 'listening' message that resolves start().
    assert.ok(
      logger.lines.includes(`info UDP discovery responder listening on port ${responder.port}`),
      logger.lines.join('\n'),
    );
    await responder.stop();
    assert.ok(
      logger.lines.includes('info UDP discovery responder stopped'),
      logger.lines.join('\n'),
    );
  });

  it('with logging off, the thread sends no info lines', async () => {
    const logger = recordingLogger();
    const responder = await start({ logger, logging: false, httpPort: 4 });
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:4']);
    await responder.stop();
    assert.deepEqual(logger.lines, []);
  });

  it("has its port set inside a 'listening' handler, as the main-thread responder does", async () => {
    // src/responder/worker.ts emits 'listening' before #started is set, so `port` is undefined.
    for (const worker of [false, true]) {
      const responder = createResponder({ joinGroups: false, port: 0, env: {}, worker });
      let seen: unknown = 'no event';
      responder.on('listening', () => {
        seen = responder.port;
      });
      try {
        await responder.start();
        assert.equal(seen, responder.port, `worker: ${worker}`);
      } finally {
        await responder.stop();
      }
    }
  });
});

describe('worker responder options', () => {
  const invalid: [string, ResponderOptions][] = [
    ['socketFactory', { socketFactory: (options) => createSocket(options) }],
    ['interfaceProvider', { interfaceProvider: () => [] }],
    ['interfaceProvider6', { interfaceProvider6: () => [] }],
    ['hostChannel', { hostChannel: netHostChannel }],
  ];
  for (const [name, options] of invalid) {
    it(`refuses worker: true with ${name}, naming worker`, () => {
      assert.throws(
        () => createResponder({ env: {}, worker: true, ...options }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidOptionError, String(error));
          assert.equal(error.option, 'worker');
          assert.match(error.message, /^Invalid worker: true \(expected false when socketFactory/);
          return true;
        },
      );
    });
  }

  it('accepts socketFactory without worker, and refuses a non-boolean worker', () => {
    const responder = createResponder({ env: {}, socketFactory: (o) => createSocket(o) });
    assert.equal(responder.settings.worker, false);
    assert.throws(
      () => createResponder({ env: {}, worker: 'yes' as unknown as boolean }),
      (error: unknown) => error instanceof InvalidOptionError && error.option === 'worker',
    );
  });
});

/**
 * Sends 20,000 requests to 127.0.0.1:`port` from 4 sockets of a child process, 100 every 5 ms
 * (at most 3 s), and resolves with how many were sent and answered.
 */
const FLOOD = `
const dgram = require('node:dgram');
const port = Number(process.argv[1]);
const sockets = [0, 1, 2, 3].map(() => dgram.createSocket('udp4'));
let sent = 0;
let replies = 0;
for (const socket of sockets) {
  socket.on('message', () => replies++);
  socket.bind(0, '127.0.0.1');
}
const request = Buffer.from('DISCOVER_SERVER');
const started = Date.now();
function batch() {
  if (sent >= 20000 || Date.now() - started > 3000) {
    setTimeout(() => {
      process.stdout.write(JSON.stringify({ sent, replies }));
      for (const socket of sockets) socket.close();
    }, 200);
    return;
  }
  for (let i = 0; i < 100; i++) sockets[sent++ % 4].send(request, port, '127.0.0.1');
  setTimeout(batch, 5);
}
setTimeout(batch, 50);
`;

/** The main thread's event-loop busy time while `responder` takes the flood. */
async function busyUnderFlood(
  responder: Responder & { port: number },
): Promise<{ activeMs: number; sent: number; replies: number }> {
  const child = spawn(process.execPath, ['-e', FLOOD, String(responder.port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      output += text;
    });
    const before = performance.eventLoopUtilization();
    const [code] = await once(child, 'close');
    const { active } = performance.eventLoopUtilization(before);
    assert.equal(code, 0, 'the flood process failed');
    const { sent, replies } = JSON.parse(output) as { sent: number; replies: number };
    return { activeMs: active, sent, replies };
  } finally {
    child.kill('SIGKILL');
  }
}

describe('worker responder under a flood', () => {
  it("keeps the main thread's event loop free, unlike a main-thread responder", async (t) => {
    // setTimeout lag is no good measure: libuv runs timers between batches of 32 datagrams,
    // so even a busy main-thread responder delays them by a few ms only. The time the main
    // loop spends busy (event-loop utilization) shows the difference plainly: roughly 10x.
    const onMain = await start({ worker: false, rateLimit: 0, httpPort: 5 });
    const main = await busyUnderFlood(onMain);
    await onMain.stop();
    const inWorker = await start({ rateLimit: 0, httpPort: 5 });
    const worker = await busyUnderFlood(inWorker);
    const summary = JSON.stringify({ main, worker });
    t.diagnostic(summary);
    for (const run of [main, worker]) {
      assert.ok(run.sent >= 5000, `the flood sent too little: ${summary}`);
      assert.ok(run.replies >= run.sent / 2, `the responder answered too little: ${summary}`);
    }
    assert.ok(worker.activeMs * 3 < main.activeMs, `main loop not freed: ${summary}`);
  });
});
