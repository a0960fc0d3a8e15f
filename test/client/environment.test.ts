/**
 * The client's environment: the server's variable names as a fallback (port, message, prefix),
 * and warnings for slips that would otherwise be silent (a timeout in seconds, a misspelled
 * variable), on real sockets over loopback.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import {
  createResponder,
  type DiscoverOptions,
  discover,
  type Responder,
  type ResponderOptions,
} from '../../src/index.js';
import { freeUdpPort } from '../helpers/udp.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0)) await task();
});

async function responder(options: ResponderOptions): Promise<Responder> {
  const r = createResponder({ port: 0, env: {}, rateLimit: 0, ...options });
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
    const server = createResponder({ env, httpPort: 4101, rateLimit: 0 });
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

  it('names the server variable it read in errors, and refuses its port 0', () => {
    assert.throws(
      () => ask({ DISCOVERY_PORT: '0' }),
      (error: Error) => {
        assert.match(
          error.message,
          /^Invalid DISCOVERY_PORT: "0" \(expected a port from 1 to 65535/,
        );
        assert.match(error.message, /only works for a server; set DISCOVERY_CLIENT_PORT/);
        return true;
      },
    );
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
});
