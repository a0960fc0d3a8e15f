// A NestJS app that is discoverable on the LAN while it listens.
//   npm run build && node examples/nestjs.js     then, elsewhere: npx beckon discover
// PORT (default 8080) and DISCOVERY_PORT (default 9999) choose the ports; 0 picks free ones.
//
// Plain JavaScript has no decorator syntax, so they are applied as functions here. In
// TypeScript this is the usual:
//   @Controller() class HelloController { @Get() hello() { return 'Hello from NestJS!\n'; } }
//   @Module({ imports: [BeckonModule.forRoot()], controllers: [HelloController] }) class AppModule {}
import 'reflect-metadata';
import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { BeckonModule } from 'beckon/nestjs';

class HelloController {
  hello() {
    return 'Hello from NestJS!\n';
  }
}
Controller()(HelloController);
Get()(
  HelloController.prototype,
  'hello',
  Object.getOwnPropertyDescriptor(HelloController.prototype, 'hello'),
);

class AppModule {}
Module({ imports: [BeckonModule.forRoot()], controllers: [HelloController] })(AppModule);

const app = await NestFactory.create(AppModule); // discovery logs through Nest's Logger
await app.listen(Number(process.env.PORT ?? 8080), '0.0.0.0');

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`${signal}: closing`);
    void app.close(); // discovery stops before the HTTP server closes; the process then exits 0
  });
}
