/**
 * The host channel's transports side by side: the same checks on the real one (node:net, a
 * Linux abstract socket) and on beckon/testing's in-memory one, so that the simulated channel
 * behaves as the real one where HostRegistry and HostRegistrant can tell.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type EventEmitter, once } from 'node:events';
import { describe, it } from 'node:test';
import {
  type HostChannelStream,
  type HostChannelTransport,
  netHostChannel,
} from '../../src/host/transport.js';
import { createTestNetwork } from '../../src/testing/index.js';

const emitter = (stream: HostChannelStream) => stream as unknown as EventEmitter;

/**
 * Records a stream's events in order: `data:<text>` (consecutive chunks joined: a stream keeps
 * no write boundaries), `end`, `close`, `error:<code>`.
 */
function record(stream: HostChannelStream): string[] {
  const events: string[] = [];
  stream.setEncoding('utf8');
  stream.on('data', (chunk) => {
    const last = events.length - 1;
    if (events[last]?.startsWith('data:')) events[last] += chunk;
    else events.push(`data:${chunk}`);
  });
  emitter(stream).on('end', () => events.push('end'));
  stream.on('error', (error) => events.push(`error:${(error as NodeJS.ErrnoException).code}`));
  stream.on('close', () => events.push('close'));
  return events;
}

/** Resolves once `events` holds `last`, polling (the transports deliver on ticks). */
async function until(events: string[], last: string): Promise<void> {
  for (let i = 0; i < 200 && !events.includes(last); i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.ok(events.includes(last), `no ${last}: ${events.join(' ')}`);
}

function simulated(): HostChannelTransport {
  const network = createTestNetwork();
  const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
  return network.host({ name: 'h', interfaces: [{ lan }] }).hostChannel;
}

const transports: [string, () => HostChannelTransport][] = [
  ['node:net (abstract socket)', () => netHostChannel],
  ['beckon/testing (in memory)', simulated],
];

for (const [name, make] of transports) {
  describe(`host channel transport: ${name}`, { skip: process.platform !== 'linux' }, () => {
    const path = () => `\0beckon-test/${randomUUID()}`;

    /** A listener on a fresh path, and a connected pair of streams on it. */
    async function pair(transport: HostChannelTransport) {
      const where = path();
      const accepted: HostChannelStream[] = [];
      const listener = await transport.listen(where, (s) => accepted.push(s), assert.fail);
      const client = transport.connect(where);
      await once(emitter(client), 'connect');
      for (let i = 0; i < 100 && accepted.length === 0; i++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
      assert.equal(accepted.length, 1);
      return { where, listener, client, server: accepted[0] as HostChannelStream };
    }

    it('a held path: EADDRINUSE; nobody listening: ECONNREFUSED, then close', async () => {
      const transport = make();
      const where = path();
      const listener = await transport.listen(where, () => {}, assert.fail);
      await assert.rejects(
        transport.listen(where, () => {}, assert.fail),
        (error: NodeJS.ErrnoException) => error.code === 'EADDRINUSE',
      );
      await listener.close();
      const refused = transport.connect(where);
      const events = record(refused);
      await until(events, 'close');
      assert.deepEqual(events, ['error:ECONNREFUSED', 'close']);
    });

    it('lines both ways, in order', async () => {
      const { listener, client, server } = await pair(make());
      const atServer = record(server);
      const atClient = record(client);
      assert.equal(client.write('one\n'), true);
      client.write('two\n');
      await until(atServer, 'data:one\ntwo\n');
      server.write('three\n');
      await until(atClient, 'data:three\n');
      assert.equal(client.writable, true);
      client.destroy();
      await until(atServer, 'close');
      await listener.close();
    });

    it('destroy(): the peer still reads what was written before, then ends and closes', async () => {
      const { listener, client, server } = await pair(make());
      const atClient = record(client);
      const atServer = record(server);
      server.write('bye\n');
      server.destroy();
      assert.equal(server.writable, false);
      await until(atClient, 'close');
      await until(atServer, 'close');
      assert.deepEqual(atClient, ['data:bye\n', 'end', 'close']);
      assert.deepEqual(atServer, ['close']);
      assert.equal(client.writable, false);
      await listener.close();
    });

    it('end(): both ends close (no half-open connections)', async () => {
      const { listener, client, server } = await pair(make());
      const atClient = record(client);
      const atServer = record(server);
      client.write('last\n');
      client.end();
      assert.equal(client.writable, false);
      await until(atServer, 'close');
      await until(atClient, 'close');
      assert.deepEqual(atServer, ['data:last\n', 'end', 'close']);
      assert.deepEqual(atClient, ['end', 'close']);
      await listener.close();
    });

    it('a closed listener refuses new connections; open ones go on, and close() waits for them', async () => {
      const transport = make();
      const { where, listener, client, server } = await pair(transport);
      let closed = false;
      const closing = listener.close().then(() => {
        closed = true;
      });
      const atServer = record(server);
      client.write('still\n');
      await until(atServer, 'data:still\n');
      const late = record(transport.connect(where));
      await until(late, 'close');
      assert.deepEqual(late, ['error:ECONNREFUSED', 'close']);
      assert.equal(closed, false, 'close() waits for the open connection');
      client.destroy();
      await until(atServer, 'close');
      await closing;
    });
  });
}
