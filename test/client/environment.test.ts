/**
 * The client's environment: the server's variable names as a fallback (port, message, prefix),
 * and warnings for slips that would otherwise be silent (a timeout in seconds, a misspelled
 * variable), on real sockets over loopback.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { resolveDiscoverSettings } from '../../src/client/options.js';
import {
  createResponder,
  type DiscoverOptions,
  discover,
  type Responder,
  type ResponderOptions,
} from '../../src/index.js';
import { recordingLogger } from '../helpers/logger.js';
import { freeUdpPort } from '../helpers/udp.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0)) await task();
});

async function responder(options: ResponderOptions): Promise<Responder> {
  const r = createResponder({ joinGroups: false, port: 0, env: {}, rateLimit: 0, ...options });
  await r.start();
  cleanup.push(() => r.stop());
  return r;
}

/** Discovery by unicast to 127.0.0.1 only, with nothing from this process's environment. */
const ask = (env: Record<string, string>, options: DiscoverOptions = {}) =>
  discover({ broadcast: false, targets: ['127.0.0.1'], timeout: 500, env, ...options });

describe('client environment: the server names as a fallback', () => {
  it('finds a responder configured by DISCOVERY_PORT, DISCOVERY_MESSAGE and RESPONSE_PREFIX with the same environment', async () => {
    const env = {
      DISCOVERY_PORT: String(await freeUdpPort()),
      DISCOVERY_MESSAGE: 'WHERE_IS_THE_SERVER',
      RESPONSE_PREFIX: 'HERE:',
    };
    const server = createResponder({ joinGroups: false, env, httpPort: 4101, rateLimit: 0 });
    await server.start();
    cleanup.push(() => server.stop());
    assert.equal(server.port, Number(env.DISCOVERY_PORT));
    const found = await ask(env);
    assert.deepEqual(
      found.map((s) => [s.port, s.raw]),
      [[4101, 'HERE:127.0.0.1:4101']],
    );
    // Each of the three is needed: without it the client asks elsewhere or misreads the reply.
    for (const name of Object.keys(env)) {
      const partial: Record<string, string> = { ...env };
      delete partial[name];
      const without = await ask(partial, { timeout: 300 });
      assert.ok(
        !without.some((s) => s.port === 4101),
        `found without ${name}: ${JSON.stringify(without)}`,
      );
    }
  });

  it("prefers the client's own names to the server's", async () => {
    const theirs = await responder({
      httpPort: 4102,
      message: 'SERVER_SIDE_MESSAGE',
      prefix: 'SRV:',
    });
    const mine = await responder({
      httpPort: 4103,
      message: 'CLIENT_SIDE_MESSAGE',
      prefix: 'CLI:',
    });
    const env = {
      DISCOVERY_PORT: String(theirs.port),
      DISCOVERY_MESSAGE: 'SERVER_SIDE_MESSAGE',
      RESPONSE_PREFIX: 'SRV:',
      DISCOVERY_CLIENT_PORT: String(mine.port),
      DISCOVERY_CLIENT_MESSAGE: 'CLIENT_SIDE_MESSAGE',
      DISCOVERY_CLIENT_RESPONSE_PREFIX: 'CLI:',
    };
    assert.deepEqual(
      (await ask(env)).map((s) => s.port),
      [4103],
    );
    // Options win over both.
    assert.deepEqual(
      (
        await ask(env, { port: theirs.port ?? 0, message: 'SERVER_SIDE_MESSAGE', prefix: 'SRV:' })
      ).map((s) => s.port),
      [4102],
    );
  });

  it('names the server variable it read in errors', () => {
    assert.throws(() => ask({ DISCOVERY_PORT: 'x' }), /Invalid DISCOVERY_PORT: "x"/);
    assert.throws(
      () => ask({ DISCOVERY_PORT: '9', DISCOVERY_CLIENT_PORT: '70000' }),
      /Invalid DISCOVERY_CLIENT_PORT: "70000"/,
    );
    assert.throws(
      () => ask({ DISCOVERY_MESSAGE: 'x'.repeat(600) }),
      /Invalid DISCOVERY_MESSAGE: "x{10}/,
    );
  });

  it("asks the default port, with a warning, when the server's DISCOVERY_PORT is 0", () => {
    const logger = recordingLogger();
    const settings = resolveDiscoverSettings({ env: { DISCOVERY_PORT: '0' }, logger });
    assert.equal(settings.port, 9999);
    assert.deepEqual(logger.warnings, [
      'DISCOVERY_PORT=0 (any free port) tells a server where to listen, not a client where to ask: asking 9999; set DISCOVERY_CLIENT_PORT or port',
    ]);
    const own = recordingLogger();
    const port = resolveDiscoverSettings({
      env: { DISCOVERY_PORT: '0', DISCOVERY_CLIENT_PORT: '4321' },
      logger: own,
    }).port;
    assert.equal(port, 4321);
    assert.deepEqual(own.warnings, []);
  });
});

describe('client warnings for silent slips', () => {
  it('warns once for a timeout under 50 ms, naming the likely intent', async () => {
    const port = await freeUdpPort();
    const logger = recordingLogger();
    const started = Date.now();
    assert.deepEqual(await ask({}, { port, timeout: 2, logger }), []);
    assert.ok(Date.now() - started < 1000);
    assert.deepEqual(logger.warnings, [
      'timeout: 2 ms is too short for servers to answer: did you mean 2 s (timeout: 2000)? The library takes milliseconds',
    ]);
    await ask({}, { port, timeout: 2, logger });
    assert.equal(logger.warnings.length, 1, 'the same warning twice to one logger');

    const fromEnv = recordingLogger();
    await discover({
      broadcast: false,
      targets: ['127.0.0.1'],
      port,
      logger: fromEnv,
      env: { DISCOVERY_CLIENT_TIMEOUT: '0.002' },
    });
    assert.deepEqual(fromEnv.warnings, [
      'DISCOVERY_CLIENT_TIMEOUT=0.002 is 2 ms, too short for servers to answer: the variable is in seconds (DISCOVERY_CLIENT_TIMEOUT=2 waits 2 s)',
    ]);
    // With a unit (the variable takes them as --timeout does), the seconds hint would be wrong.
    const withUnit = recordingLogger();
    await discover({
      broadcast: false,
      targets: ['127.0.0.1'],
      port,
      logger: withUnit,
      env: { DISCOVERY_CLIENT_TIMEOUT: '10ms' },
    });
    assert.deepEqual(withUnit.warnings, [
      'DISCOVERY_CLIENT_TIMEOUT=10ms is too short for servers to answer; did you mean 10s?',
    ]);

    const fine = recordingLogger();
    await ask({}, { port, timeout: 50, logger: fine });
    assert.deepEqual(fine.warnings, []);
  });

  it('warns about a misspelled DISCOVERY_* variable with the name it probably meant', async () => {
    const port = await freeUdpPort();
    const logger = recordingLogger();
    await ask({ DISCOVERY_CLIENT_TIMOUT: '0.3', DISCOVERY_CLIENT_PORT: String(port) }, { logger });
    assert.deepEqual(logger.warnings, [
      'Unknown environment variable DISCOVERY_CLIENT_TIMOUT, ignored: did you mean DISCOVERY_CLIENT_TIMEOUT?',
    ]);
    const quiet = recordingLogger();
    await ask({ DISCOVERY_CLIENT_TIMEOUT: '0.3', DISCOVERY_PORT: String(port) }, { logger: quiet });
    assert.deepEqual(quiet.warnings, []);
  });

  it('warns from the responder too', async () => {
    const logger = recordingLogger();
    await responder({
      env: { DISCOVERY_PROT: '7777', DISCOVERY_CLIENT_TIMEOUT: '1', HOME: '/root' },
      logger,
    });
    assert.deepEqual(logger.warnings, [
      'Unknown environment variable DISCOVERY_PROT, ignored: did you mean DISCOVERY_PORT?',
    ]);
  });

  it('warns once from a responder in a worker thread (the thread reads the options again)', async () => {
    const logger = recordingLogger();
    await responder({ env: { DISCOVERY_PROT: '7777' }, logger, worker: true });
    await new Promise((resolve) => setTimeout(resolve, 200)); // any later relayed line
    assert.deepEqual(logger.warnings, [
      'Unknown environment variable DISCOVERY_PROT, ignored: did you mean DISCOVERY_PORT?',
    ]);
  });
});
