import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  type BeckonError,
  createResponder,
  type DropEvent,
  isBeckonError,
  type ResponderOptions,
} from '../../src/index.js';
import { trackResponders } from '../helpers/responders.js';
import { ask, sleep, udpPeer } from '../helpers/udp.js';

const start = trackResponders();

describe('responder', () => {
  it('answers the request with 127.0.0.1 and the HTTP port to a loopback requester', async () => {
    const responder = await start({ httpPort: 8080 });
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:8080']);
  });

  it('sends no port when the HTTP port is unknown, like the stock server', async () => {
    const responder = await start();
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1']);
  });

  it('ignores everything but the exact request bytes', async () => {
    const responder = await start({ httpPort: 80 });
    const drops: DropEvent[] = [];
    responder.on('drop', (drop) => drops.push(drop));
    for (const junk of ['DISCOVER_SERVER\n', 'discover_server', 'DISCOVER_SERVERS', '']) {
      assert.deepEqual(await ask(responder.port, junk, 50), [], JSON.stringify(junk));
    }
    assert.deepEqual(
      drops.map((d) => d.reason),
      ['not-a-request', 'not-a-request', 'not-a-request', 'not-a-request'],
    );
  });

  it('uses a custom message and prefix', async () => {
    const responder = await start({ message: 'WHO_IS_THERE', prefix: 'HERE:', httpPort: 3000 });
    assert.deepEqual(await ask(responder.port, 'WHO_IS_THERE'), ['HERE:127.0.0.1:3000']);
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER', 50), []);
  });

  it('with a serviceAddress, answers only requesters that reach it there', async () => {
    const elsewhere = await start({ serviceAddress: '10.9.9.9', httpPort: 80 });
    const drops: DropEvent[] = [];
    elsewhere.on('drop', (drop) => drops.push(drop));
    assert.deepEqual(await ask(elsewhere.port, 'DISCOVER_SERVER'), []);
    assert.deepEqual(
      drops.map((d) => d.reason),
      ['unreachable'],
    );
    const local = await start({ serviceAddress: '127.0.0.1', httpPort: 80 });
    assert.deepEqual(await ask(local.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:80']);
    const any = await start({ serviceAddress: '0.0.0.0', httpPort: 80 });
    assert.equal(any.settings.serviceAddress, undefined);
    assert.throws(
      () => createResponder({ serviceAddress: 'here' }),
      /Invalid serviceAddress: "here"/,
    );
  });

  it('advertises the configured address when one is given', async () => {
    const responder = await start({ advertiseAddress: '192.168.50.5', httpPort: 80 });
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:192.168.50.5:80']);
  });

  it('with shareHost off, refuses a second responder on the same port with an error naming it', async () => {
    const first = await start();
    const second = createResponder({
      joinGroups: false,
      port: first.port,
      env: {},
      shareHost: false,
    });
    await assert.rejects(second.start(), (error: BeckonError) => {
      assert.equal(error.code, 'BECKON_ERR_BIND');
      assert.match(error.message, new RegExp(`UDP port ${first.port} is already in use`));
      return true;
    });
    assert.equal(second.listening, false);
  });

  it('refuses a port held by a listener that set SO_REUSEADDR, as the original does', async () => {
    const original = createSocket({ type: 'udp4', reuseAddr: true });
    original.bind(0, '0.0.0.0');
    await once(original, 'listening');
    try {
      const responder = createResponder({
        joinGroups: false,
        port: original.address().port,
        env: {},
      });
      await assert.rejects(responder.start(), (e) => isBeckonError(e, 'BECKON_ERR_BIND'));
    } finally {
      original.close();
    }
  });

  it('stops idempotently and answers nothing afterwards', async () => {
    const responder = await start();
    const port = responder.port;
    let closed = 0;
    responder.on('close', () => closed++);
    await responder.stop();
    await responder.stop();
    await responder[Symbol.asyncDispose]();
    assert.equal(closed, 1);
    assert.equal(responder.listening, false);
    assert.equal(responder.port, undefined);
    assert.deepEqual(await ask(port, 'DISCOVER_SERVER', 100), []);
  });

  it('can be started again after a stop', async () => {
    const responder = await start({ httpPort: 1 });
    await responder.stop();
    await responder.start();
    assert.deepEqual(await ask(responder.port ?? 0, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:1']);
  });

  it('stops when its signal aborts', async () => {
    const controller = new AbortController();
    const responder = await start({ signal: controller.signal });
    const closed = once(responder, 'close');
    controller.abort();
    await closed;
    assert.equal(responder.listening, false);
  });

  it('rejects start() with the abort reason when already aborted', async () => {
    const responder = createResponder({ joinGroups: false, port: 0, env: {} });
    const reason = new Error('go away');
    await assert.rejects(responder.start({ signal: AbortSignal.abort(reason) }), reason);
  });

  it('reopens its socket after a socket error and keeps answering', async () => {
    const sockets: Socket[] = [];
    const responder = await start({
      httpPort: 9,
      socketFactory: (options) => {
        const socket = createSocket(options);
        if (options.type === 'udp4') sockets.push(socket); // the IPv6 socket is not under test
        return socket;
      },
    });
    const warning = once(responder, 'warning');
    const relistened = once(responder, 'listening');
    const failure = Object.assign(new Error('recvmsg failed'), { code: 'ECONNREFUSED' });
    sockets[0]?.emit('error', failure);
    const [error] = (await warning) as [BeckonError];
    assert.equal(error.code, 'BECKON_ERR_SOCKET');
    assert.equal(error.cause, failure);
    await relistened;
    assert.equal(sockets.length, 2, 'a fresh socket was bound');
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:9']);
  });

  it('survives 20,000 random and near-miss datagrams, then answers at once', async () => {
    const responder = await start({ httpPort: 7, rateLimit: 0 });
    const flood = createSocket('udp4');
    const samples = [
      () => randomBytes(Math.floor(Math.random() * 64)),
      () => Buffer.from('DISCOVER_SERVE'),
      () => Buffer.from('DISCOVER_SERVER '),
      () => randomBytes(1400),
      () => Buffer.concat([Buffer.from('DISCOVER_SERVER'), randomBytes(2000)]),
    ];
    let drops = 0;
    responder.on('drop', () => drops++);
    // In batches of 50 (about 35 kB, well inside the default receive buffer), each sent once
    // the responder has read the last one (or made no progress for 20 ms), so that a loaded
    // machine does not lose the flood in a full buffer. Bounded at 60 s.
    const deadline = performance.now() + 60_000;
    for (let sent = 0; sent < 20_000 && performance.now() < deadline; ) {
      for (const end = sent + 50; sent < end; sent++) {
        flood.send(
          samples[sent % samples.length]?.() ?? Buffer.alloc(0),
          responder.port,
          '127.0.0.1',
        );
      }
      for (let seen = -1, idle = 0; drops < sent && idle < 20; ) {
        if (drops === seen) idle += 2;
        else [seen, idle] = [drops, 0];
        await sleep(2);
      }
    }
    flood.close();
    assert.ok(drops > 10_000, `only ${drops} junk datagrams reached the responder`);
    assert.ok(responder.listening);
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:7']);
  });

  it('keeps start() and stop() in call order', async () => {
    const responder = await start({ httpPort: 2 });
    void responder.stop();
    await responder.start();
    assert.equal(responder.listening, true, 'start after stop must leave it running');
    const stopping = responder.stop();
    const restarting = responder.start();
    await Promise.all([stopping, restarting]);
    assert.equal(responder.listening, true);
    assert.deepEqual(await ask(responder.port ?? 0, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:2']);
  });

  it('refuses to start when its lifetime signal is already aborted', async () => {
    const reason = new Error('shut down');
    const responder = createResponder({
      joinGroups: false,
      port: 0,
      env: {},
      signal: AbortSignal.abort(reason),
    });
    await assert.rejects(responder.start(), reason);
    assert.equal(responder.listening, false);
  });

  it('limits replies per source', async () => {
    const limited = await start({ rateLimit: 5 });
    const unlimited = await start({ rateLimit: 0 });
    const burst = async (port: number) => {
      const peer = await udpPeer();
      for (let i = 0; i < 30; i++) peer.socket.send('DISCOVER_SERVER', port, '127.0.0.1');
      await sleep(200);
      peer.close();
      return peer.received.length;
    };
    const limitedReplies = await burst(limited.port);
    assert.ok(limitedReplies >= 5 && limitedReplies <= 6, `rate 5 gave ${limitedReplies} replies`);
    assert.equal(await burst(unlimited.port), 30);
  });
});

describe('responder settings', () => {
  it('reads the original environment names', () => {
    const responder = createResponder({
      env: {
        DISCOVERY_PORT: '7777',
        DISCOVERY_MESSAGE: 'HELLO_SERVER',
        RESPONSE_PREFIX: 'AT:',
        DISCOVERY_BUFFER_SIZE: '512',
        ENABLE_LOGGING: 'False',
      },
    });
    const { metadata, ...settings } = responder.settings;
    assert.match(metadata.instanceId, /^[0-9a-f-]{36}$/);
    assert.deepEqual(
      { ...metadata, instanceId: 'random' },
      {
        instanceId: 'random',
        name: undefined,
        service: undefined,
        scheme: 'http',
        version: undefined,
        values: {},
      },
    );
    assert.deepEqual(
      { ...settings },
      {
        port: 7777,
        httpPort: undefined,
        message: 'HELLO_SERVER',
        prefix: 'AT:',
        bufferSize: 512,
        bindAddress: '0.0.0.0',
        family: 'any',
        interfacePollInterval: 2000,
        joinGroups: true,
        shareHost: false, // a custom message: answered by its own process only
        announce: true,
        lease: 15_000,
        announcePort: 7776, // the discovery port minus 1
        advertiseAddress: undefined,
        serviceAddress: undefined,
        allow: [],
        offLink: 'private',
        rateLimit: 20,
        replyJitter: [0, 0],
        logging: false,
        mode: 'plain',
        replayProtection: true,
        replayWindow: 300_000,
        worker: false,
        registry: undefined,
      },
    );
  });

  it('lets options win over the environment', () => {
    const responder = createResponder({
      port: 1234,
      message: 'FROM_THE_OPTION',
      env: { DISCOVERY_PORT: '7777', DISCOVERY_MESSAGE: 'FROM_THE_ENVIRONMENT' },
    });
    assert.equal(responder.settings.port, 1234);
    assert.equal(responder.settings.message, 'FROM_THE_OPTION');
  });

  const invalid: [string, ResponderOptions, RegExp][] = [
    ['port', { port: 70000 }, /Invalid port: 70000 \(expected an integer from 0 to 65535\)/],
    ['httpPort', { httpPort: 0 }, /Invalid httpPort: 0/],
    ['message', { message: '' }, /Invalid message: ""/],
    [
      'allow',
      { allow: ['10.0.0.0/33'] },
      /Invalid allow: "10.0.0.0\/33" \(expected IPv4 or IPv6 CIDRs/,
    ],
    ['rateLimit', { rateLimit: -1 }, /Invalid rateLimit: -1/],
    ['advertiseAddress', { advertiseAddress: 'myhost' }, /Invalid advertiseAddress: "myhost"/],
    [
      'bufferSize',
      { bufferSize: 4 },
      /Invalid bufferSize: 4 \(expected an integer from 15 to 65535\)/,
    ],
    ['DISCOVERY_PORT', { env: { DISCOVERY_PORT: 'abc' } }, /Invalid DISCOVERY_PORT: "abc"/],
    ['ENABLE_LOGGING', { env: { ENABLE_LOGGING: 'maybe' } }, /Invalid ENABLE_LOGGING: "maybe"/],
  ];
  for (const [name, options, message] of invalid) {
    it(`throws at once for an invalid ${name}`, () => {
      assert.throws(() => createResponder({ env: {}, ...options }), message);
    });
  }
});
