/** The extended protocol end to end on loopback: metadata, services, shared keys, replays. */
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
import {
  decodeAnswer,
  decodeRequest,
  encodeRequest,
  verifyTag,
} from '../../src/protocol/extended.js';
import { trackResponders } from '../helpers/responders.js';
import { exchange, LOCAL, sleep, udpPeer } from '../helpers/udp.js';

const startResponder = trackResponders({ rateLimit: 0 });

async function start(options: ResponderOptions = {}) {
  const responder = await startResponder(options);
  const drops: DropEvent['reason'][] = [];
  responder.on('drop', (drop) => drops.push(drop.reason));
  return { responder, port: responder.port ?? 0, drops };
}

const KEY = generateKey();
const OLD_KEY = generateKey();
const request = (key?: string, service?: string, timestamp = Date.now()) =>
  encodeRequest(
    { nonce: randomBytes(16), timestamp, service },
    key === undefined ? undefined : Buffer.from(key),
  );

describe('extended protocol, without keys', () => {
  it('answers with the metadata; the plain request still gets a plain reply', async () => {
    const { port } = await start({
      httpPort: 8443,
      scheme: 'https',
      name: 'Kitchen printer',
      service: 'printing',
      instanceId: 'printer-1',
      version: '3.1.0',
      metadata: { floor: '2' },
    });
    const [server, ...rest] = await discover({
      ...LOCAL,
      family: 'IPv4',
      port,
      extended: true,
      timeout: 400,
    });
    assert.equal(rest.length, 0);
    assert.deepEqual(
      { ...server, rttMs: 0, sourcePort: 0, raw: '', addresses: [] },
      {
        ip: '127.0.0.1',
        family: 'IPv4',
        addresses: [],
        port: 8443,
        url: 'https://127.0.0.1:8443',
        source: '127.0.0.1',
        sourcePort: 0,
        interface: 'lo',
        via: 'broadcast',
        rttMs: 0,
        raw: '',
        foreign: false,
        protocol: 'extended',
        authenticated: false,
        metadata: {
          instanceId: 'printer-1',
          name: 'Kitchen printer',
          service: 'printing',
          scheme: 'https',
          version: '3.1.0',
          values: { floor: '2' },
        },
      },
    );
    // The original's request gets the original's reply; the same run's extended request (which
    // only beckon answers) names the instance, so the result carries its metadata too.
    const [plain, ...again] = await discover({ ...LOCAL, family: 'IPv4', port, timeout: 300 });
    assert.equal(again.length, 0);
    assert.equal(plain?.raw, 'SERVER_IP:127.0.0.1:8443');
    assert.equal(plain?.protocol, 'plain');
    assert.equal(plain?.metadata?.instanceId, 'printer-1');
  });

  it('lets a client ask for one service only', async () => {
    const printers = await start({ service: 'printing', httpPort: 1 });
    const other = await start({ service: 'music', httpPort: 2 });
    const unnamed = await start({ httpPort: 3 });
    const ask = (port: number, service?: string) =>
      discover({ ...LOCAL, port, timeout: 300, extended: true, ...(service ? { service } : {}) });
    assert.equal((await ask(printers.port, 'printing')).length, 1);
    assert.equal((await ask(other.port, 'printing')).length, 0);
    assert.equal((await ask(unnamed.port, 'printing')).length, 0);
    assert.equal((await ask(other.port)).length, 1, 'no filter: every service answers');
    assert.ok(other.drops.includes('other-service'));
  });

  it('does not answer a short (unpadded) or a signed extended request', async () => {
    const { port, drops } = await start();
    const short = request().subarray(0, 100);
    short[34] = 0x7e; // keep it well formed: one unknown field up to the end
    short[35] = 100 - 36;
    assert.deepEqual(await exchange(port, [short, request(KEY)]), []);
    assert.deepEqual(drops, ['not-a-request', 'unauthenticated']);
  });

  it('never answers with more than 3 times the bytes of the request', async () => {
    const { port } = await start({
      httpPort: 65535,
      name: 'n'.repeat(64),
      service: 's'.repeat(64),
      instanceId: 'i'.repeat(64),
      version: 'v'.repeat(32),
      metadata: Object.fromEntries(
        Array.from({ length: 8 }, (_, i) => [`key${i}`, 'x'.repeat(27)]),
      ),
    });
    const asked = request();
    const [answer] = await exchange(port, [asked]);
    assert.ok(answer);
    assert.ok(
      answer.byteLength <= 3 * asked.byteLength,
      `${answer.byteLength} / ${asked.byteLength}`,
    );
    const [plain] = await exchange(port, [Buffer.from('DISCOVER_SERVER')]);
    assert.ok(plain && plain.byteLength <= 3 * 15, String(plain));
  });

  it('refuses metadata that would not fit, or that a terminal would execute', () => {
    const bad: [ResponderOptions, RegExp][] = [
      [
        { name: 'x'.repeat(65) },
        /Invalid name: "x+" \(expected a non-empty string of at most 64 bytes/,
      ],
      [{ name: 'evil\u001b[2J' }, /Invalid name/],
      [{ service: '' }, /Invalid service/],
      [{ scheme: 'HTTP' }, /Invalid scheme: "HTTP"/],
      [{ metadata: { a: 'x'.repeat(129) } }, /Invalid metadata/],
      [
        { metadata: Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, ''])) },
        /Invalid metadata/,
      ],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => createResponder({ env: {}, ...options }),
        message,
        JSON.stringify(options),
      );
    }
  });
});

describe('extended protocol, with shared keys', () => {
  it('finds the server only with the key, and says it is authenticated', async () => {
    const { port, drops } = await start({ authKeys: [KEY], httpPort: 80, name: 'api' });
    const [server] = await discover({ ...LOCAL, port, authKey: KEY, timeout: 400 });
    assert.equal(server?.authenticated, true);
    assert.equal(server?.metadata?.name, 'api');
    // Without the key, or with another one, nothing at all comes back.
    assert.deepEqual(await discover({ ...LOCAL, port, timeout: 300 }), []);
    assert.deepEqual(await discover({ ...LOCAL, port, extended: true, timeout: 300 }), []);
    assert.deepEqual(await discover({ ...LOCAL, port, authKey: generateKey(), timeout: 300 }), []);
    assert.ok(drops.includes('unauthenticated'));
    assert.ok(!drops.some((d) => d !== 'unauthenticated'), drops.join());
  });

  it('signs the answer with the key of the request, and accepts older keys in a rotation', async () => {
    const { port } = await start({ authKeys: [KEY, OLD_KEY] });
    for (const key of [KEY, OLD_KEY]) {
      const asked = request(key);
      const [answer] = await exchange(port, [asked]);
      const decoded = answer && decodeAnswer(answer);
      assert.ok(decoded?.authenticated);
      assert.deepEqual(decoded.nonce, decodeRequest(asked)?.nonce);
      assert.ok(verifyTag(decoded, [Buffer.from(key)]));
      const [client] = await discover({ ...LOCAL, port, authKey: key, timeout: 300 });
      assert.equal(client?.authenticated, true);
    }
  });

  it('answers a captured request once, and not at all when it is too old or too new', async () => {
    const { port, drops } = await start({ authKeys: [KEY], replayWindow: 5000 });
    const captured = request(KEY);
    assert.equal((await exchange(port, [captured, captured])).length, 1);
    assert.equal((await exchange(port, [captured])).length, 0);
    assert.equal((await exchange(port, [request(KEY, undefined, Date.now() - 6000)])).length, 0);
    assert.equal((await exchange(port, [request(KEY, undefined, Date.now() + 6000)])).length, 0);
    assert.equal((await exchange(port, [request(KEY, undefined, Date.now() - 4000)])).length, 1);
    assert.deepEqual(drops, ['replay', 'replay', 'stale', 'stale']);
  });

  it('drops a forged answer and one replayed from an earlier discovery', async () => {
    // A fake server that answers with a tag made with the wrong key, then with the answer it
    // captured from the real server during the previous run.
    const real = await start({ authKeys: [KEY] });
    const captured: Buffer[] = [];
    const spy = await udpPeer((message) => captured.push(message));
    spy.socket.send(request(KEY), real.port, '127.0.0.1');
    await sleep(100);
    spy.close();
    assert.equal(captured.length, 1);
    let forgeries = 0;
    const forger = await udpPeer((message, remote, socket) => {
      const asked = decodeRequest(message);
      if (!asked) return;
      const stolen = captured[0] as Buffer;
      socket.send(stolen, remote.port, remote.address); // old nonce
      const forged = Buffer.from(stolen);
      forged.set(asked.nonce, 10); // right nonce, but the tag no longer matches
      socket.send(forged, remote.port, remote.address);
      forgeries++;
    }, '0.0.0.0');
    try {
      assert.deepEqual(
        await discover({ ...LOCAL, port: forger.port, authKey: KEY, timeout: 300, retries: 1 }),
        [],
      );
      assert.equal(forgeries, 2, 'both requests got both answers');
    } finally {
      forger.close();
    }
  });

  it('refuses bad keys without printing them', () => {
    const secret = 'too-short-secret';
    assert.throws(
      () => createResponder({ env: {}, authKeys: [secret.slice(0, 10)] }),
      (error: Error) =>
        /Invalid authKeys\[0\]: a key of 10 bytes \(expected a string of 16 to 256 bytes/.test(
          error.message,
        ) && !error.message.includes(secret.slice(0, 10)),
    );
    assert.throws(() => createResponder({ env: {}, authKeys: [] }), /Invalid authKeys: 0 keys/);
    assert.throws(
      () => createResponder({ env: { DISCOVERY_AUTH_KEYS: 'short' } }),
      /Invalid DISCOVERY_AUTH_KEYS\[0\]/,
    );
    assert.throws(
      () => createResponder({ env: {}, authKeys: [KEY], encryption: true, secretKey: KEY }),
      /not both/,
    );
    assert.throws(() => discover({ env: {}, authKey: 'x' }), /Invalid authKey: a key of 1 bytes/);
    assert.throws(
      () => discover({ env: { DISCOVERY_AUTH_KEYS: 'short' } }),
      /Invalid DISCOVERY_AUTH_KEYS: a key of 5 bytes/,
      'the error names the variable the key came from',
    );
    assert.throws(
      () => discover({ env: {}, encryption: true, secretKey: KEY, service: 'a' }),
      /Invalid service: "a" \(expected Fernet encryption or the extended protocol/,
    );
  });

  it('reads keys from the environment, the client falling back to the server list', async () => {
    const { port } = await start({ env: { DISCOVERY_AUTH_KEYS: `${KEY}, ${OLD_KEY}` } });
    const found = (env: Record<string, string>) =>
      discover({ ...LOCAL, env, port, timeout: 300 }).then((list) => list.length);
    assert.equal(await found({ DISCOVERY_CLIENT_AUTH_KEY: OLD_KEY }), 1);
    assert.equal(await found({ DISCOVERY_AUTH_KEYS: KEY }), 1);
    assert.equal(await found({}), 0);
  });
});
