import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import beckon from '../../src/integrations/fastify.js';
import {
  assertDiscoverableOverIPv6,
  assertDiscoverableUntilClosed,
} from '../helpers/discoverable.js';

describe('beckon/fastify', () => {
  it('starts on listen, advertises the bound port, and stops in the close hook', async () => {
    const lines: string[] = [];
    const app = Fastify({
      logger: { level: 'info', stream: { write: (line: string) => void lines.push(line) } },
    });
    app.get('/', async () => 'fastify');
    await app.register(beckon, { enabled: true, port: 0, env: {}, joinGroups: false });
    await app.listen({ port: 0, host: '0.0.0.0' });
    const port = (app.server.address() as AddressInfo).port;
    let listeningAtStop: boolean | undefined;
    const handle = app.beckon;
    assert.equal(await handle.settled(), 'answering');
    handle.responder?.once('close', () => {
      listeningAtStop = app.server.listening;
    });
    await assertDiscoverableUntilClosed(handle, port, 'fastify', () => app.close());
    assert.equal(listeningAtStop, true, 'discovery must stop before the server closes');
    assert.equal(app.beckon.state, 'stopped');
    // It logged through the app's logger (pino JSON lines).
    assert.ok(
      lines.some((line) =>
        /"msg":"Discovery answering on UDP port \d+, advertising http port/.test(line),
      ),
      lines.join(''),
    );
  });

  for (const host of ['::', '::1'] as const) {
    it(`on ${host}: an IPv6 extended request to ::1 gets the port and address6 ::1`, async (t) => {
      const app = Fastify();
      app.get('/', async () => 'fastify6');
      await app.register(beckon, { enabled: true, port: 0, env: {}, joinGroups: false });
      t.after(() => app.server.listening && app.close());
      await app.listen({ port: 0, host });
      const port = (app.server.address() as AddressInfo).port;
      await assertDiscoverableOverIPv6(app.beckon, port, 'fastify6', host, () => app.close());
      assert.equal(app.beckon.state, 'stopped');
    });
  }

  it('refuses to be registered twice', async () => {
    const app = Fastify();
    await app.register(beckon, { enabled: false });
    await assert.rejects(async () => {
      await app.register(beckon, { enabled: false });
    }, /already registered/);
  });

  it('rejects invalid options at registration', async () => {
    const app = Fastify();
    await assert.rejects(async () => {
      await app.register(beckon, { rateLimit: -1 });
      await app.ready();
    }, /Invalid rateLimit: -1/);
  });
});
