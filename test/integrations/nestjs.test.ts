import 'reflect-metadata';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { Controller, Get, type LoggerService, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BeckonModule, BeckonService } from '../../src/integrations/nestjs.js';
import {
  assertDiscoverableOverIPv6,
  assertDiscoverableUntilClosed,
} from '../helpers/discoverable.js';

class HelloController {
  hello(): string {
    return 'nest';
  }
}
Controller()(HelloController);
Get()(
  HelloController.prototype,
  'hello',
  Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello') as PropertyDescriptor,
);

function appModule(imports: unknown[]) {
  class AppModule {}
  Module({ imports: imports as never[], controllers: [HelloController] })(AppModule);
  return AppModule;
}

function recordingLogger(): LoggerService & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (message: unknown, context?: unknown) =>
    void lines.push(`${level} [${String(context)}] ${String(message)}`);
  return {
    lines,
    log: record('log'),
    warn: record('warn'),
    error: record('error'),
    debug: record('debug'),
  };
}

describe('beckon/nestjs', () => {
  it('forRoot: starts after the app listens, advertises the bound port, stops on close', async () => {
    const logger = recordingLogger();
    const app = await NestFactory.create(
      appModule([BeckonModule.forRoot({ enabled: true, port: 0, env: {}, joinGroups: false })]),
      { logger },
    );
    await app.listen(0, '0.0.0.0');
    const port = (app.getHttpServer().address() as AddressInfo).port;
    const handle = app.get(BeckonService).handle;
    assert.ok(handle);
    assert.equal(await handle.settled(), 'answering');
    let listeningAtStop: boolean | undefined;
    handle.responder?.once('close', () => {
      listeningAtStop = app.getHttpServer().listening;
    });
    await assertDiscoverableUntilClosed(handle, port, 'nest', () => app.close());
    assert.equal(handle.state, 'stopped');
    assert.equal(listeningAtStop, true, 'discovery must stop before the HTTP server closes');
    assert.ok(
      logger.lines.some((line) => /^log \[Beckon\] Discovery answering on UDP port/.test(line)),
      logger.lines.join('\n'),
    );
  });

  it('forRootAsync: options from a factory', async () => {
    const app = await NestFactory.create(
      appModule([
        BeckonModule.forRootAsync({
          useFactory: async () => ({ enabled: true, port: 0, env: {}, joinGroups: false }),
        }),
      ]),
      { logger: false },
    );
    await app.listen(0);
    const handle = app.get(BeckonService).handle;
    assert.ok(handle);
    const port = (app.getHttpServer().address() as AddressInfo).port;
    await assertDiscoverableUntilClosed(handle, port, 'nest', () => app.close());
  });

  for (const host of ['::', '::1'] as const) {
    it(`on ${host}: an IPv6 extended request to ::1 gets the port and address6 ::1`, async (t) => {
      const app = await NestFactory.create(
        appModule([BeckonModule.forRoot({ enabled: true, port: 0, env: {}, joinGroups: false })]),
        { logger: false },
      );
      t.after(() => app.getHttpServer().listening && app.close());
      await app.listen(0, host);
      const handle = app.get(BeckonService).handle;
      assert.ok(handle);
      const port = (app.getHttpServer().address() as AddressInfo).port;
      await assertDiscoverableOverIPv6(handle, port, 'nest', host, () => app.close());
      assert.equal(handle.state, 'stopped');
    });
  }

  it('forRoot rejects invalid options at once', () => {
    assert.throws(() => BeckonModule.forRoot({ port: -1 }), /Invalid port: -1/);
  });
});
