import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { serve } from '@hono/node-server';
import express from 'express';
import { Hono } from 'hono';
import Koa from 'koa';
import { discover } from '../../src/client/discover.js';
import { attachDiscovery } from '../../src/integrations/http.js';
import type { Logger } from '../../src/logger.js';
import {
  assertDiscoverableOverIPv6,
  assertDiscoverableUntilClosed,
} from '../helpers/discoverable.js';
import { ask, freeUdpPort, LOCAL, sleep } from '../helpers/udp.js';

/** Options every test uses: on despite the test run, any free UDP port, no env. */
const ON = { enabled: true, port: 0, env: {}, joinGroups: false } as const;

const portOf = (server: Server) => (server.address() as AddressInfo).port;
const closeServer = (server: Server) =>
  new Promise<void>((resolve, reject) =>
    server.close((error) => (error ? reject(error) : resolve())),
  );

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: string) => void lines.push(`${level}: ${message}`);
  return {
    lines,
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  };
}

describe('attachDiscovery', () => {
  // Whatever a failing test left open is closed, so that a failure cannot hang the run.
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });
  const tracked = (server: Server): Server => {
    cleanup.push(() => server.listening && closeServer(server));
    return server;
  };
  const attach: typeof attachDiscovery = (server, options) => {
    const handle = attachDiscovery(server, options);
    cleanup.push(() => handle.stop());
    return handle;
  };

  it('node:http: advertises the port really bound (port 0), then stops with the server', async () => {
    const server = tracked(createServer((_req, res) => res.end('plain')));
    const handle = attach(server, ON);
    assert.equal(handle.state, 'waiting');
    server.listen(0, '0.0.0.0');
    await once(server, 'listening');
    assert.equal(handle.scheme, 'http');
    await assertDiscoverableUntilClosed(handle, portOf(server), 'plain', () => closeServer(server));
    assert.equal(handle.state, 'waiting'); // would start again if the server listened again
    await handle.stop();
  });

  it('answers over IPv6 when the server listens on :: (both) or ::1 (IPv6 only); 0.0.0.0, 127.0.0.1: IPv4 only', async () => {
    for (const [host, family, serviceAddress] of [
      ['0.0.0.0', 'IPv4', undefined],
      ['127.0.0.1', 'IPv4', '127.0.0.1'],
      ['::', 'any', undefined],
      ['::1', 'IPv6', '::1'],
    ] as const) {
      const server = tracked(createServer((_req, res) => res.end('plain')));
      const handle = attach(server, ON);
      server.listen(0, host);
      assert.equal(await handle.settled(), 'answering');
      assert.equal(handle.responder?.settings.family, family, host);
      assert.equal(handle.responder?.settings.serviceAddress, serviceAddress, host);
      await handle.stop();
      await closeServer(server);
    }
  });

  it('on ::1 with a bindAddress of 127.0.0.1, starts without throwing from the listen event', async () => {
    const server = tracked(createServer((_req, res) => res.end('plain')));
    const handle = attach(server, { ...ON, bindAddress: '127.0.0.1' });
    server.listen(0, '::1');
    // Both families then (IPv6 needs 0.0.0.0): the IPv4 socket on 127.0.0.1 only, and no
    // requester is sent ::1 over it, so nothing is answered; but the host process lives on.
    assert.equal(await handle.settled(), 'answering');
    assert.equal(handle.responder?.settings.family, 'any');
    await handle.stop();
    await closeServer(server);
  });

  for (const host of ['::', '::1'] as const) {
    it(`node:http on ${host}: an IPv6 extended request to ::1 gets the port and address6 ::1`, async () => {
      const logger = recordingLogger();
      const server = tracked(createServer((_req, res) => res.end('six')));
      const handle = attach(server, { ...ON, logger });
      server.listen(0, host);
      await once(server, 'listening');
      await assertDiscoverableOverIPv6(handle, portOf(server), 'six', host, () =>
        closeServer(server),
      );
      assert.deepEqual(
        logger.lines.filter((line) => line.startsWith('warn:')),
        host === '::'
          ? []
          : [
              'warn: The server listens on ::1 only: discovery answers requests from this machine alone, over IPv6 (extended requests), and IPv4 requesters get no answer. Listen on :: to be found on the LAN on both families.',
            ],
      );
    });
  }

  it('Express: app.listen() returns the http.Server to attach to', async () => {
    const app = express();
    app.get('/', (_req, res) => res.send('express'));
    const server = tracked(app.listen(0));
    const handle = attach(server, ON);
    await once(server, 'listening');
    await assertDiscoverableUntilClosed(handle, portOf(server), 'express', () =>
      closeServer(server),
    );
  });

  it('Koa: app.listen() returns the http.Server to attach to', async () => {
    const app = new Koa();
    app.use((ctx) => {
      ctx.body = 'koa';
    });
    const server = tracked(app.listen(0));
    const handle = attach(server, ON);
    await assertDiscoverableUntilClosed(handle, await listeningPort(server), 'koa', () =>
      closeServer(server),
    );
  });

  it("Hono: @hono/node-server's serve() returns the http.Server to attach to", async () => {
    const app = new Hono();
    app.get('/', (c) => c.text('hono'));
    const server = tracked(serve({ fetch: app.fetch, port: 0 }) as Server);
    const handle = attach(server, ON);
    await assertDiscoverableUntilClosed(handle, await listeningPort(server), 'hono', () =>
      closeServer(server),
    );
  });

  it('attached between listen() and its listening event, starts one responder, not two', async () => {
    const udpPort = await freeUdpPort();
    const logger = recordingLogger();
    const server = tracked(createServer((_req, res) => res.end('once')));
    server.listen(0); // binds now, emits 'listening' on the next tick
    const handle = attach(server, { ...ON, port: udpPort, logger });
    assert.equal(await handle.settled(), 'answering');
    await sleep(50);
    assert.equal(handle.state, 'answering');
    assert.deepEqual(
      logger.lines.filter((line) => /listening on port/.test(line)),
      [`info: UDP discovery responder listening on port ${udpPort}`],
    );
    await assertDiscoverableUntilClosed(handle, portOf(server), 'once', () => closeServer(server));
  });

  it('attaching to a server that already listens starts at once', async () => {
    const server = tracked(createServer((_req, res) => res.end('late')));
    server.listen(0);
    await once(server, 'listening');
    const handle = attach(server, ON);
    await assertDiscoverableUntilClosed(handle, portOf(server), 'late', () => closeServer(server));
  });

  it('a server on 127.0.0.1 only is advertised to this machine alone, with one warning', async () => {
    const logger = recordingLogger();
    const server = tracked(createServer((_req, res) => res.end('local')));
    const handle = attach(server, { ...ON, logger });
    server.listen(0, '127.0.0.1');
    await assertDiscoverableUntilClosed(handle, await listeningPort(server), 'local', async () => {
      const warnings = logger.lines.filter((line) => line.startsWith('warn:'));
      assert.deepEqual(warnings, [
        'warn: The server listens on 127.0.0.1 only: discovery answers requests from this machine alone. Listen on 0.0.0.0 to be found on the LAN.',
      ]);
      await closeServer(server);
    });
    await handle.stop();
  });

  it('stop() detaches early: the server keeps serving, discovery is gone', async () => {
    const server = tracked(createServer((_req, res) => res.end('ok')));
    const handle = attach(server, ON);
    server.listen(0);
    assert.equal(await handle.settled(), 'answering');
    const udpPort = handle.responder?.port ?? 0;
    await handle.stop();
    assert.equal(handle.state, 'stopped');
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER', 300), []);
    assert.equal((await fetch(`http://127.0.0.1:${portOf(server)}`)).status, 200);
    await closeServer(server);
  });

  it('stays off in a test run unless enabled: true, and says why', async () => {
    const logger = recordingLogger();
    const server = tracked(createServer());
    const handle = attach(server, { port: 0, env: { NODE_ENV: 'test' }, logger });
    assert.equal(handle.state, 'disabled');
    server.listen(0);
    await once(server, 'listening');
    assert.equal(handle.responder, undefined);
    assert.match(
      logger.lines.join('\n'),
      /off in a test run \(NODE_ENV=test\); pass enabled: true/,
    );
    const off = attach(server, { port: 0, env: {}, enabled: false });
    assert.equal(off.state, 'disabled');
    await closeServer(server);
  });

  it('a server on a Unix socket has nothing to advertise: disabled, with a warning', async () => {
    const logger = recordingLogger();
    const server = tracked(createServer());
    const handle = attach(server, { ...ON, logger });
    const path = `/tmp/beckon-test-${process.pid}.sock`;
    server.listen(path);
    assert.equal(await handle.settled(), 'disabled');
    assert.match(logger.lines.join('\n'), /listens on .*beckon-test-.*\.sock, not on a TCP port/);
    await closeServer(server);
  });

  it('invalid options throw at once, naming the option', () => {
    const server = tracked(createServer());
    assert.throws(() => attach(server, { port: 70000 }), /Invalid port: 70000/);
    assert.throws(
      () => attach(server, { enabled: 'yes' as never }),
      /Invalid enabled: "yes" \(expected true, false, or left out/,
    );
    assert.throws(() => attach(server, { standbyRetryMs: -1 }), /Invalid standbyRetryMs: -1/);
  });

  it('stop() while the responder is still starting leaves nothing running', async () => {
    const udpPort = await freeUdpPort();
    const server = tracked(createServer());
    server.listen(0);
    await once(server, 'listening');
    const handle = attach(server, { ...ON, port: udpPort }); // starts binding now
    await handle.stop();
    await sleep(100);
    assert.equal(handle.state, 'stopped');
    assert.equal(handle.responder, undefined);
    // The port is free again: a new socket can take it.
    const probe = createSocket('udp4');
    probe.bind(udpPort, '0.0.0.0');
    await once(probe, 'listening');
    probe.close();
  });

  it('stop() during standby ends the retries', async () => {
    const holder = await holdPort(); // not beckon: no host channel to register with
    const udpPort = holder.address().port;
    const second = tracked(createServer());
    const secondHandle = attach(second, { ...ON, port: udpPort, standbyRetryMs: 50 });
    second.listen(0);
    assert.equal(await secondHandle.settled(), 'standby');
    await secondHandle.stop();
    holder.close(); // the port frees: a live retry would take it within 50 ms
    await sleep(200);
    assert.equal(secondHandle.state, 'stopped');
    assert.equal(secondHandle.responder, undefined);
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER', 200), []);
  });

  it('a second app on the same UDP port registers, and takes over when the first closes', async () => {
    const first = tracked(createServer((_req, res) => res.end('first')));
    const firstHandle = attach(first, ON);
    first.listen(0);
    assert.equal(await firstHandle.settled(), 'answering');
    const udpPort = firstHandle.responder?.port ?? 0;
    const logger = recordingLogger();
    const second = tracked(createServer((_req, res) => res.end('second')));
    const secondHandle = attach(second, { ...ON, port: udpPort, logger });
    second.listen(0);
    assert.equal(await secondHandle.settled(), 'registered');
    assert.match(logger.lines.join('\n'), /registered with the beckon process answering/);
    assert.deepEqual(
      (await ask(udpPort, 'DISCOVER_SERVER')).sort(),
      [`SERVER_IP:127.0.0.1:${portOf(first)}`, `SERVER_IP:127.0.0.1:${portOf(second)}`].sort(),
    );
    await closeServer(first);
    const deadline = Date.now() + 3000;
    while (secondHandle.state !== 'answering' && Date.now() < deadline) await sleep(20);
    assert.equal(secondHandle.state, 'answering');
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER'), [
      `SERVER_IP:127.0.0.1:${portOf(second)}`,
    ]);
  });

  it('close then listen again: waiting at once, then answering again on the same UDP port', async () => {
    const udpPort = await freeUdpPort();
    const server = tracked(createServer((_req, res) => res.end('again')));
    const handle = attach(server, { ...ON, port: udpPort });
    server.listen(0);
    assert.equal(await handle.settled(), 'answering');
    server.close();
    await once(server, 'close');
    assert.equal(handle.state, 'waiting');
    server.listen(0); // the old socket may still be closing: the new responder waits for it
    assert.equal(await handle.settled(), 'answering');
    assert.equal(handle.responder?.port, udpPort);
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER'), [
      `SERVER_IP:127.0.0.1:${portOf(server)}`,
    ]);
  });

  it('announces https for a TLS server, and one instance id across close and listen', async () => {
    // No certificate is needed: only discovery is exercised, never a TLS handshake.
    const server = tracked(createHttpsServer() as unknown as Server);
    const handle = attach(server, ON);
    const find = () =>
      discover({
        ...LOCAL,
        family: 'IPv4', // ::1 would do as well; one family keeps the url the same every run
        port: handle.responder?.port ?? 0,
        extended: true,
        timeout: 300,
      });
    server.listen(0);
    assert.equal(await handle.settled(), 'answering');
    const [first] = await find();
    assert.equal(first?.url, `https://127.0.0.1:${portOf(server)}`);
    await closeServer(server);
    server.listen(0);
    assert.equal(await handle.settled(), 'answering');
    const [again] = await find();
    assert.equal(again?.port, portOf(server));
    assert.ok(first?.metadata?.instanceId);
    assert.equal(again?.metadata?.instanceId, first?.metadata?.instanceId);
  });

  it('with the UDP port held by something else, stands by and answers when it frees', async () => {
    const holder = await holdPort();
    const udpPort = holder.address().port;

    const logger = recordingLogger();
    const second = tracked(createServer((_req, res) => res.end('second')));
    const secondHandle = attach(second, {
      ...ON,
      port: udpPort,
      standbyRetryMs: 100,
      logger,
    });
    second.listen(0);
    assert.equal(await secondHandle.settled(), 'standby');
    assert.match(
      logger.lines.join('\n'),
      new RegExp(
        `UDP port ${udpPort} is held by pid ${process.pid} \\(.*\\), which is not a beckon responder that shares the port.*Standing by`,
      ),
    );
    holder.close();
    // The standby retries every 100 ms and answers once the port is free.
    const deadline = Date.now() + 3000;
    while (secondHandle.state !== 'answering' && Date.now() < deadline) await sleep(20);
    assert.equal(secondHandle.state, 'answering');
    const replies = await ask(udpPort, 'DISCOVER_SERVER');
    assert.deepEqual(replies, [`SERVER_IP:127.0.0.1:${portOf(second)}`]);
    await closeServer(second);
    await secondHandle.stop();
  });
});

/** A plain UDP socket on a free port, bound as a responder binds it: not beckon. */
async function holdPort() {
  const holder = createSocket('udp4');
  holder.bind({ port: 0, address: '0.0.0.0', exclusive: true });
  await once(holder, 'listening');
  return holder;
}

async function listeningPort(server: Server): Promise<number> {
  if (!server.listening) await once(server, 'listening');
  return portOf(server);
}
