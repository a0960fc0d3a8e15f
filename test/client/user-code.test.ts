/**
 * The client's socket handlers call user code: the trace callback, the logger, the clock. A
 * throwing one must not take the host process down from inside a socket event (an uncaught
 * exception there would end the app). Real sockets on loopback.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { discover, generateKey, type Logger } from '../../src/index.js';
import { trackResponders } from '../helpers/responders.js';
import { LOCAL } from '../helpers/udp.js';

const KEY = generateKey();
const startResponder = trackResponders({ rateLimit: 0 });

const throwing = () => {
  throw new Error('user code failed');
};
// Throws when warned: the reply handler warns about a stale reply.
const throwingLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: throwing,
  error: () => {},
};

describe('user code that throws in the reply handler', () => {
  it('does not crash on a throwing trace callback, and the server is still found', async () => {
    const server = await startResponder({});
    const servers = await discover({ ...LOCAL, port: server.port, timeout: 500, trace: throwing });
    assert.equal(servers.length, 1);
  });

  it('does not crash on a logger that throws while warning about a stale reply', async () => {
    // A Fernet server whose clock is 400 s ahead: every reply is stale, and the client warns.
    const server = await startResponder({
      encryption: true,
      secretKey: KEY,
      replayProtection: false,
      clock: { now: () => Date.now() + 400_000 },
    });
    let traced = 0;
    const servers = await discover({
      ...LOCAL,
      port: server.port,
      encryption: true,
      secretKey: KEY,
      timeout: 500,
      logger: throwingLogger,
      trace: (event) => {
        if (event.type === 'clock-skew') traced++;
        throwing();
      },
    });
    assert.deepEqual(servers, []);
    assert.ok(traced >= 1, 'the stale reply reached the handler');
  });
});
