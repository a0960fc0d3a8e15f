/**
 * beckon/testing with the framework integrations, unchanged: a Fastify app (beckon/fastify) and a
 * NestJS app (beckon/nestjs) announced on a simulated LAN are found by a kiosk on another
 * simulated host, at the app's real HTTP port, and are gone once the app closes.
 */
import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import Fastify from 'fastify';
import { discover } from '../../src/index.js';
import beckon from '../../src/integrations/fastify.js';
import { BeckonModule, BeckonService } from '../../src/integrations/nestjs.js';
import { createTestNetwork } from '../../src/testing/index.js';

function office() {
  const network = createTestNetwork();
  const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
  const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
  const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
  const find = () => discover({ ...network.clientOptions(kiosk), port: 5000, timeout: 300 });
  return { network, server, find };
}

describe('beckon/testing: framework integrations', () => {
  it('a Fastify app with the beckon plugin is found by the kiosk, and not after close', async (t) => {
    const { network, server, find } = office();
    const app = Fastify();
    t.after(() => app.close());
    await app.register(beckon, { ...network.attachOptions(server), port: 5000 });
    await app.listen({ port: 0, host: '0.0.0.0' }); // real HTTP; discovery is simulated
    const port = (app.server.address() as AddressInfo).port;
    const [found, ...others] = await find();
    assert.deepEqual(others, []);
    assert.equal(found?.url, `http://10.0.0.5:${port}`);
    await app.close();
    assert.deepEqual(await find(), []);
  });

  it('a NestJS app with BeckonModule is found by the kiosk, and not after close', async (t) => {
    const { network, server, find } = office();
    class AppModule {}
    Module({ imports: [BeckonModule.forRoot({ ...network.attachOptions(server), port: 5000 })] })(
      AppModule,
    );
    const app = await NestFactory.create(AppModule, { logger: false });
    t.after(() => app.close());
    await app.listen(0, '0.0.0.0');
    const port = (app.getHttpServer().address() as AddressInfo).port;
    assert.equal(await app.get(BeckonService).handle?.settled(), 'answering');
    const [found, ...others] = await find();
    assert.deepEqual(others, []);
    assert.equal(found?.url, `http://10.0.0.5:${port}`);
    await app.close();
    assert.deepEqual(await find(), []);
  });
});
