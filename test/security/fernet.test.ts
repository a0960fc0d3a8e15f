/** Fernet mode end to end on loopback, beckon with beckon (test/interop covers Python). */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  createResponder,
  type DropEvent,
  discover,
  generateKey,
  type ResponderOptions,
} from '../../src/index.js';
import { decodeFernetKey, decryptFernet, encryptFernet } from '../../src/protocol/fernet.js';
import { ReplayGuard } from '../../src/security/replay-guard.js';
import { trackResponders } from '../helpers/responders.js';
import { exchange, LOCAL, udpPeer } from '../helpers/udp.js';

const KEY = generateKey();
const startResponder = trackResponders({ rateLimit: 0, encryption: true, secretKey: KEY });
const fernetKey = decodeFernetKey(KEY);
assert.ok(typeof fernetKey !== 'string');
const token = (text: string, seconds = Date.now() / 1000) =>
  encryptFernet(fernetKey, Buffer.from(text), seconds, randomBytes(16));

async function start(options: ResponderOptions = {}) {
  const responder = await startResponder(options);
  const drops: DropEvent['reason'][] = [];
  responder.on('drop', (drop) => drops.push(drop.reason));
  return { port: responder.port ?? 0, drops };
}

describe('Fernet mode', () => {
  it('finds the server with the key, and only with it', async () => {
    const { port, drops } = await start({ httpPort: 8080 });
    const [server] = await discover({
      ...LOCAL,
      port,
      encryption: true,
      secretKey: KEY,
      timeout: 300,
    });
    assert.equal(server?.raw, 'SERVER_IP:127.0.0.1:8080');
    assert.equal(server?.protocol, 'fernet');
    assert.equal(server?.authenticated, true);
    assert.deepEqual(await discover({ ...LOCAL, port, timeout: 300 }), []);
    const other = { encryption: true, secretKey: generateKey() };
    assert.deepEqual(await discover({ ...LOCAL, port, ...other, timeout: 300 }), []);
    // A plain request, or a token under another key: not authenticated. The plain run also
    // sends the extended request (on loopback, and to ::1), which a Fernet responder does not read.
    assert.ok(drops.includes('unauthenticated'), drops.join());
    assert.ok(
      drops.every((d) => d === 'unauthenticated' || d === 'not-a-request'),
      drops.join(),
    );
  });

  it('encrypts the reply, and ignores a token of another message', async () => {
    const { port } = await start();
    const [reply] = await exchange(port, [token('DISCOVER_SERVER')]);
    assert.ok(reply);
    assert.equal(String(decryptFernet(fernetKey, reply)?.plaintext), 'SERVER_IP:127.0.0.1');
    assert.deepEqual(await exchange(port, [token('DISCOVER_SERVER\n'), token('')]), []);
  });

  it('answers a captured token once, and refuses one outside the window', async () => {
    const { port, drops } = await start({ replayWindow: 10_000 });
    const captured = token('DISCOVER_SERVER');
    assert.equal((await exchange(port, [captured, captured])).length, 1);
    // Fernet times are whole seconds: stay well clear of the 10 s edge.
    const now = Date.now() / 1000;
    assert.equal((await exchange(port, [token('DISCOVER_SERVER', now - 15)])).length, 0);
    assert.equal((await exchange(port, [token('DISCOVER_SERVER', now + 15)])).length, 0);
    assert.deepEqual(drops, ['replay', 'stale', 'stale']);
  });

  it('accepts replays with replayProtection: false, as the original does', async () => {
    const { port } = await start({ replayProtection: false });
    const old = token('DISCOVER_SERVER', Date.now() / 1000 - 3600);
    assert.equal((await exchange(port, [old, old])).length, 2);
  });

  it('believes a captured reply once per discovery, and no stale reply', async () => {
    // A fake server that answers every request with the same token, plus an hour-old one.
    const reply = token('SERVER_IP:127.0.0.1:9000');
    const stale = token('SERVER_IP:127.0.0.1:9001', Date.now() / 1000 - 3600);
    let requests = 0;
    const fake = await udpPeer((_m, remote, socket) => {
      requests++;
      socket.send(reply, remote.port, remote.address);
      socket.send(stale, remote.port, remote.address);
    }, '0.0.0.0'); // a socket bound to 127.0.0.1 does not receive loopback broadcasts
    try {
      const servers = await discover({
        ...LOCAL,
        port: fake.port,
        encryption: true,
        secretKey: KEY,
        timeout: 400,
        maxResults: 10,
      });
      assert.ok(requests >= 2, `${requests} requests`);
      assert.deepEqual(
        servers.map((s) => s.port),
        [9000],
      );
    } finally {
      fake.close();
    }
  });

  it('refuses a bad key with the original messages, never printing it', () => {
    assert.throws(
      () => createResponder({ env: {}, encryption: true }),
      /^InvalidOptionError: Invalid DISCOVERY_SECRET_KEY: Fernet key must be non-empty\./,
    );
    const bad = 'not-a-fernet-key';
    assert.throws(
      () => createResponder({ env: {}, encryption: true, secretKey: bad }),
      (error: Error) =>
        /Invalid secretKey: Invalid Fernet key format\./.test(error.message) &&
        !error.message.includes(bad),
    );
    assert.throws(
      () =>
        createResponder({
          env: { DISCOVERY_ENCRYPTION_ENABLED: 'True', DISCOVERY_SECRET_KEY: bad },
        }),
      /Invalid DISCOVERY_SECRET_KEY: Invalid Fernet key format\./,
    );
    assert.throws(
      () => discover({ env: { DISCOVERY_CLIENT_ENCRYPTION_ENABLED: 'yes' } }),
      /Invalid DISCOVERY_SECRET_KEY: Fernet key must be non-empty\./,
    );
  });

  it('reads the client settings from the original variables, with their fallbacks', async () => {
    const { port } = await start();
    const found = (env: Record<string, string>) =>
      discover({ ...LOCAL, env, port, timeout: 300 }).then((list) => list.length);
    assert.equal(
      await found({
        DISCOVERY_CLIENT_ENCRYPTION_ENABLED: 'true',
        DISCOVERY_CLIENT_SECRET_KEY: KEY,
      }),
      1,
    );
    assert.equal(await found({ DISCOVERY_ENCRYPTION_ENABLED: '1', DISCOVERY_SECRET_KEY: KEY }), 1);
    assert.equal(
      await found({
        DISCOVERY_CLIENT_ENCRYPTION_ENABLED: 'false',
        DISCOVERY_ENCRYPTION_ENABLED: 'true',
        DISCOVERY_SECRET_KEY: KEY,
      }),
      0,
      'the client variable wins',
    );
  });
});

describe('ReplayGuard', () => {
  it('accepts an id once inside the window, and forgets it once the window has passed', () => {
    const guard = new ReplayGuard(1000, 3);
    assert.equal(guard.check('a', 10_000, 10_000), 'fresh');
    assert.equal(guard.check('a', 10_000, 10_500), 'replay');
    assert.equal(guard.check('b', 8_999, 10_000), 'stale');
    assert.equal(guard.check('b', 11_001, 10_000), 'stale');
    assert.equal(guard.check('b', 10_000, 10_000), 'fresh');
    assert.equal(guard.check('c', 10_000, 10_000), 'fresh');
    assert.equal(guard.check('d', 10_000, 10_000), 'full', 'fails closed when full');
    assert.equal(guard.check('d', 11_500, 11_500), 'fresh', 'expired ids make room');
    assert.equal(guard.size, 1);
  });
});
