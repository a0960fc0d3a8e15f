/**
 * Short custom messages (issue 14, item 1): the original answers any message, and its own tests
 * use PING / PONG:. beckon answers them too, and warns at start that a reply can be larger than
 * 3 times its request, in both responder implementations and in `beckon serve`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createResponder, discover } from '../../src/index.js';
import { beckonServe } from '../helpers/cli.js';
import { hasPython, PYTHON, requirePrerequisite } from '../helpers/prerequisite.js';
import { startRecorded, trackResponders } from '../helpers/responders.js';
import { ask, LOCAL } from '../helpers/udp.js';

const startResponder = trackResponders({ rateLimit: 0 });
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PING = { message: 'PING', prefix: 'PONG:' } as const;

describe('short custom messages', () => {
  for (const worker of [false, true]) {
    it(`answers PING with PONG: and warns once at start${worker ? ' (worker thread)' : ''}`, async () => {
      const {
        responder,
        port,
        events,
        warnings: logged,
      } = await startRecorded({ ...PING, worker });
      try {
        assert.deepEqual(await ask(port, 'PING', 300), ['PONG:127.0.0.1']);
        assert.deepEqual(await ask(port, 'DISCOVER_SERVER', 150), [], 'only its own message');
        assert.equal(events.length, 1, events.map((e) => e.message).join('\n'));
        const [warning] = events;
        assert.equal(warning?.code, 'BECKON_ERR_AMPLIFICATION');
        // "PONG:255.255.255.255" is 20 bytes for a 4-byte request: 5 times; 7 bytes give 3 times.
        assert.match(warning?.message ?? '', /A reply can be 5 times the size of its request/);
        assert.match(warning?.message ?? '', /"PING", 4 bytes; longest reply 20 bytes/);
        assert.match(warning?.message ?? '', /message of at least 7 bytes or a shorter prefix/);
        assert.deepEqual(logged, [warning?.message]);
      } finally {
        await responder.stop();
      }
    });
  }

  it('is found by discover with the same message and prefix', async () => {
    const { port } = await startResponder({ ...PING, httpPort: 8080 });
    const servers = await discover({ ...LOCAL, ...PING, port, timeout: 500, maxResults: 1 });
    assert.deepEqual(
      servers.map((s) => `${s.ip}:${s.port}`),
      ['127.0.0.1:8080'],
    );
  });

  it('answers a 1-byte message and one from DISCOVERY_MESSAGE; refuses an empty or 513-byte one', async () => {
    const one = await startResponder({ message: 'P' });
    assert.deepEqual(await ask(one.port, 'P'), ['SERVER_IP:127.0.0.1']);
    const fromEnv = await startResponder({ env: { DISCOVERY_MESSAGE: 'PING' } });
    assert.deepEqual(await ask(fromEnv.port, 'PING'), ['SERVER_IP:127.0.0.1']);
    assert.throws(() => createResponder({ env: {}, message: '' }), /Invalid message: ""/);
    assert.throws(
      () => createResponder({ env: {}, message: 'x'.repeat(513) }),
      /Invalid message: .* \(expected a non-empty string of at most 512 bytes\)/,
    );
  });

  it('does not warn when the reply is at most 3 times the request', async () => {
    // The default, and the largest reply for a message of exactly a third of it.
    const defaults = await startRecorded({ httpPort: 65535 });
    const edge = await startRecorded({ message: 'x'.repeat(7), prefix: 'PONG:' });
    try {
      assert.deepEqual([...defaults.events, ...edge.events], []);
      assert.deepEqual([...defaults.warnings, ...edge.warnings], []);
    } finally {
      await Promise.all([defaults.responder.stop(), edge.responder.stop()]);
    }
  });

  it('is found by the original Python client with PING / PONG:', async (t) => {
    const ifaddr = () => spawnSync(PYTHON, ['-c', 'import ifaddr'], { stdio: 'ignore' }).status;
    if (!requirePrerequisite(t, hasPython() && ifaddr() === 0, `${PYTHON} with python3-ifaddr`)) {
      return;
    }
    const { port } = await startResponder({ ...PING, httpPort: 8000 });
    const child = spawn(PYTHON, [
      `${ROOT}test/peers/original_client.py`,
      'discover',
      '--port',
      String(port),
      '--timeout',
      '1',
      '--message',
      'PING',
      '--prefix',
      'PONG:',
      '--broadcast',
      '127.0.0.1',
    ]);
    let stdout = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    const [code] = await once(child, 'close');
    assert.equal(code, 0);
    assert.deepEqual(JSON.parse(stdout), [{ ip: '127.0.0.1', port: 8000, source: '127.0.0.1' }]);
  });

  it('beckon serve --message PING --prefix PONG: starts, answers and prints the warning', async () => {
    const serve = await beckonServe(['--port', '0', '--message', 'PING', '--prefix', 'PONG:']);
    try {
      assert.deepEqual(await ask(serve.port, 'PING', 300), ['PONG:127.0.0.1']);
      assert.match(serve.output, /warning: A reply can be 5 times the size of its request/);
      const { status } = await serve.stop('SIGTERM');
      assert.equal(status, 0, serve.output);
    } finally {
      await serve.stop('SIGKILL');
    }
  });
});
