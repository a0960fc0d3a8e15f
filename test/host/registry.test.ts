import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { channelPath } from '../../src/host/channel.js';
import type { HostRecord } from '../../src/host/records.js';
import { HostRegistrant } from '../../src/host/registrant.js';
import { HostRegistry } from '../../src/host/registry.js';
import { isRecordError } from './helpers.js';

const record = (instanceId: string, extra: Partial<HostRecord> = {}): HostRecord => ({
  instanceId,
  httpPort: 8080,
  pid: process.pid,
  service: instanceId,
  ...extra,
});

const cleanups: (() => unknown)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A registry on a fresh abstract name, closed after the tests. */
async function startRegistry(options: { maxRecords?: number; maxPerConnection?: number } = {}) {
  const name = `beckon-test/${randomUUID()}`;
  const registry = new HostRegistry({ path: `\0${name}`, ...options });
  registry.on('warning', () => {});
  await registry.listen();
  cleanups.push(() => registry.close());
  return { registry, name, path: `\0${name}` };
}

async function connectRegistrant(path: string): Promise<HostRegistrant> {
  const registrant = new HostRegistrant({ path });
  await registrant.connect();
  cleanups.push(() => registrant.close());
  return registrant;
}

/** Polls `condition` every 10 ms until it holds or `ms` pass. */
async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A raw client that collects the registry's reply lines. */
async function rawClient(path: string): Promise<{ socket: Socket; lines: string[] }> {
  const socket = createConnection(path);
  await once(socket, 'connect');
  cleanups.push(() => socket.destroy());
  const lines: string[] = [];
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  socket.on('error', () => {});
  return { socket, lines };
}

describe('host registry over real Unix sockets', () => {
  it('channelPath: abstract on Linux, a socket file in tmpdir elsewhere', () => {
    const abstract = channelPath(9999, 'linux');
    assert.equal(abstract.length, 108, 'the full sun_path, the same name for every Node version');
    assert.equal(abstract.replace(/\0+$/, ''), '\0beckon/9999');
    assert.equal(channelPath(9999, 'darwin'), join(tmpdir(), 'beckon-9999.sock'));
    assert.equal(channelPath(9999, 'win32'), '\\\\.\\pipe\\beckon-9999');
  });

  it('invalid options throw at once, naming the option', () => {
    assert.throws(() => new HostRegistry({ path: '' }), /Invalid path: ""/);
    assert.throws(
      () => new HostRegistry({ path: '\0x', maxRecords: 0 }),
      /Invalid maxRecords: 0 \(expected a positive integer\)/,
    );
    assert.throws(
      () => new HostRegistry({ path: '\0x', maxPerConnection: 1.5 }),
      /maxPerConnection/,
    );
  });

  it('a registered record is seen; an unregistered one goes at once', async () => {
    const { registry, path } = await startRegistry();
    const registrant = await connectRegistrant(path);
    const changes: HostRecord[][] = [];
    registry.on('change', (records) => changes.push(records));
    await registrant.register(record('orders'));
    assert.deepEqual(
      registry.records.map((r) => r.instanceId),
      ['orders'],
    );
    assert.deepEqual(
      changes.at(-1)?.map((r) => r.service),
      ['orders'],
    );
    await registrant.unregister('orders');
    assert.deepEqual(registry.records, []);
    assert.deepEqual(changes.at(-1), []);
  });

  it("a connection's end removes its records at once, and only its records", async () => {
    const { registry, path } = await startRegistry();
    const one = await connectRegistrant(path);
    const two = await connectRegistrant(path);
    await one.register(record('orders'));
    await two.register(record('users', { httpPort: 8081 }));
    assert.equal(registry.records.length, 2);
    const changed = once(registry, 'change');
    one.close();
    const [records] = (await changed) as [HostRecord[]];
    assert.deepEqual(
      records.map((r) => r.instanceId),
      ['users'],
    );
  });

  it('identical records (cluster workers) count once', async () => {
    const { registry, path } = await startRegistry();
    const a = await connectRegistrant(path);
    const b = await connectRegistrant(path);
    await a.register(record('w1', { service: 'orders', pid: 1001 }));
    await b.register(record('w2', { service: 'orders', pid: 1002 }));
    assert.equal(registry.records.length, 1);
    a.close();
    await until(
      () => registry.records[0]?.instanceId === 'w2',
      2000,
      'the second worker to remain',
    );
  });

  it('a SIGKILLed registrant loses its record within 2 s', async (t) => {
    const { registry, name } = await startRegistry();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/host/fixtures/register-child.ts', name],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    child.stdout.setEncoding('utf8');
    let out = '';
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
    });
    await until(() => out.includes('registered'), 30_000, 'the child to register');
    assert.deepEqual(
      registry.records.map((r) => r.pid),
      [child.pid],
    );
    const killedAt = performance.now();
    assert.ok(child.kill('SIGKILL'));
    await until(() => registry.records.length === 0, 2000, 'the killed child record to go');
    const elapsed = performance.now() - killedAt;
    t.diagnostic(`record gone ${elapsed.toFixed(1)} ms after SIGKILL`);
    assert.ok(elapsed < 2000, `record went after ${elapsed.toFixed(0)} ms`);
  });

  it('enforces records per connection and per host, with an error reply', async () => {
    const { registry, path } = await startRegistry({ maxRecords: 5, maxPerConnection: 3 });
    const one = await connectRegistrant(path);
    for (let i = 0; i < 3; i++) await one.register(record(`a${i}`, { httpPort: 9000 + i }));
    await assert.rejects(one.register(record('a3', { httpPort: 9003 })), (error) => {
      assert.ok(isRecordError(error, 'too-many-records'));
      return true;
    });
    // Replacing one of its own records is not a new record.
    await one.register(record('a0', { httpPort: 9100 }));
    const two = await connectRegistrant(path);
    for (let i = 0; i < 2; i++) await two.register(record(`b${i}`, { httpPort: 9200 + i }));
    await assert.rejects(two.register(record('b2', { httpPort: 9202 })), (error) => {
      assert.ok(isRecordError(error, 'host-full'));
      return true;
    });
    assert.equal(registry.records.length, 5);
    assert.equal(one.state, 'connected');
  });

  it('a malformed line gets an error line; an over-long line closes that connection', async () => {
    const { registry, path } = await startRegistry();
    const { socket, lines } = await rawClient(path);
    socket.write('not json\n');
    await until(() => lines.length === 1, 2000, 'an error line');
    assert.equal(JSON.parse(lines[0] as string).reason, 'bad-json');
    socket.write(`${'x'.repeat(9000)}`);
    await until(() => socket.readableEnded || socket.destroyed, 5000, 'the connection to close');
    assert.equal(JSON.parse(lines.at(-1) as string).reason, 'line-too-long');
    assert.equal(registry.state, 'listening');
  });

  it('a flood of junk from one client does not stop another being served', async () => {
    const { registry, path } = await startRegistry();
    const { socket } = await rawClient(path);
    const junk = Buffer.from('{"op":"register","record":{"__proto__":1}}\n'.repeat(2000));
    const flood = (async () => {
      for (let i = 0; i < 200 && !socket.destroyed && socket.writable; i++) {
        socket.write(junk);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const good = await connectRegistrant(path);
    await good.register(record('orders'));
    assert.deepEqual(
      registry.records.map((r) => r.instanceId),
      ['orders'],
    );
    await flood;
    await until(() => socket.destroyed || socket.readableEnded, 5000, 'the flooder to be cut off');
    assert.equal(good.state, 'connected');
  });

  it('a client that writes but never reads its replies is cut off', async () => {
    const { registry, path } = await startRegistry();
    const socket = createConnection(path);
    await once(socket, 'connect');
    cleanups.push(() => socket.destroy());
    socket.on('error', () => {});
    socket.pause(); // never read: replies pile up in the kernel, then in the registry
    const line = '{"op":"unregister","instanceId":"nobody"}\n';
    for (let i = 0; i < 100 && !socket.destroyed && !socket.readableEnded; i++) {
      socket.write(line.repeat(1000));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await until(
      () => socket.destroyed || socket.writableEnded || socket.closed,
      10_000,
      'the reader to be cut off',
    );
    const good = await connectRegistrant(path);
    await good.register(record('orders'));
    assert.equal(registry.records.length, 1);
  });

  it('registry close: the registrant emits lost and pending calls reject', async () => {
    const { registry, path } = await startRegistry();
    const registrant = await connectRegistrant(path);
    await registrant.register(record('orders'));
    const lost = once(registrant, 'lost');
    await registry.close();
    await lost;
    assert.equal(registrant.state, 'lost');
    await assert.rejects(registrant.register(record('again')), /lost, not connected/);
  });

  it('a second registry on the same name is refused (EADDRINUSE)', async () => {
    const { path } = await startRegistry();
    const second = new HostRegistry({ path });
    await assert.rejects(second.listen(), { code: 'EADDRINUSE' });
  });

  it('connect without a registry rejects; an aborted signal closes the registrant', async () => {
    const missing = new HostRegistrant({ path: `\0beckon-test/${randomUUID()}` });
    await assert.rejects(missing.connect(), { code: 'ECONNREFUSED' });
    const { registry, path } = await startRegistry();
    const controller = new AbortController();
    const registrant = new HostRegistrant({ path, signal: controller.signal });
    await registrant.connect();
    await registrant.register(record('orders'));
    controller.abort();
    assert.equal(registrant.state, 'closed');
    await until(() => registry.records.length === 0, 2000, 'the record to go after abort');
  });

  it('socket file channel: a stale file is removed, a live one refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-host-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'beckon-1.sock');
    // Leave a stale socket file behind, as a killed process would: bound, never unlinked.
    const made = spawnSync('python3', [
      '-c',
      'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])',
      path,
    ]);
    assert.equal(made.status, 0, String(made.stderr));
    assert.ok(existsSync(path));
    const registry = new HostRegistry({ path });
    await registry.listen();
    const registrant = await connectRegistrant(path);
    await registrant.register(record('orders'));
    assert.equal(registry.records.length, 1);
    await assert.rejects(new HostRegistry({ path }).listen(), { code: 'EADDRINUSE' });
    await registry.close();
    assert.ok(!existsSync(path), 'close() removes the socket file');
  });
});
