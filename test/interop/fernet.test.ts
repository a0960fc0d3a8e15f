/**
 * The original's encrypted mode against Python's `cryptography.fernet`, byte for byte and over
 * UDP, on loopback only: tokens made by either side decrypt in the other, beckon's responder
 * answers Python tokens (once each, and only fresh ones), beckon's client believes Python reply
 * tokens, and the Python peers' encrypted mode talks to beckon.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  createResponder,
  type DiscoverOptions,
  discover,
  type ResponderOptions,
} from '../../src/index.js';
import {
  decodeFernetKey,
  decryptFernet,
  encryptFernet,
  type FernetKey,
} from '../../src/protocol/fernet.js';
import { hasPython, PYTHON, requirePrerequisite } from '../helpers/prerequisite.js';
import { LabProcess, run } from '../helpers/process.js';
import { ask, exchange, freeUdpPort, LOCAL, sleep, udpPeer } from '../helpers/udp.js';

const CLIENT = fileURLToPath(new URL('../peers/original_client.py', import.meta.url));
const SERVER = fileURLToPath(new URL('../peers/original_server.py', import.meta.url));

const KEY = 'FXWF_VBY4PrgSWOZw6_Yp21MOXNWwuGq-9xbBKAPAvE=';
const OTHER_KEY = 'nJ-QJv02ApUwOdTrOKxQY8YhXNsh27ft2LuJV8KO2ow=';
const key = decodeFernetKey(KEY) as FernetKey;
const otherKey = decodeFernetKey(OTHER_KEY) as FernetKey;
const REQUEST = 'DISCOVER_SERVER';

/** Plaintexts of every interesting length: empty, under, at and over a block, 100+ bytes, binary. */
const MESSAGES: Buffer[] = [
  Buffer.alloc(0),
  Buffer.from('x'),
  Buffer.from(REQUEST),
  Buffer.from('0123456789abcdef'), // exactly one block: a whole block of padding follows
  Buffer.from('SERVER_IP:192.168.100.200:65535'),
  Buffer.from(`SERVER_IP:10.0.0.1:8080 ${'é'.repeat(60)}`), // 100+ bytes of UTF-8
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)), // every byte value
];

let cryptographyChecked: boolean | undefined;
const hasCryptography = () => {
  cryptographyChecked ??=
    hasPython() && spawnSync(PYTHON, ['-c', 'import cryptography.fernet']).status === 0;
  return cryptographyChecked;
};
const needsPython = (t: TestContext) =>
  requirePrerequisite(t, hasCryptography(), `${PYTHON} with python3-cryptography`);

/** Runs original_client.py with `args`, feeding `lines` on stdin; its output lines. */
function peer(args: string[], lines: string[]): string[] {
  const run = spawnSync(PYTHON, [CLIENT, ...args], {
    input: lines.map((line) => `${line}\n`).join(''),
    encoding: 'utf8',
    timeout: 20_000,
  });
  if (run.status !== 0) throw new Error(`original_client.py ${args[0]} failed:\n${run.stderr}`);
  return run.stdout.split('\n').slice(0, lines.length);
}

/** Python's `Fernet(k).encrypt(p)` (or `encrypt_at_time(p, at)`) for each plaintext. */
function pythonEncrypt(k: string, plaintexts: Buffer[], at?: number): Buffer[] {
  const args = ['fernet-encrypt', k, ...(at === undefined ? [] : ['--at', String(at)])];
  return peer(
    args,
    plaintexts.map((p) => p.toString('hex')),
  ).map((token) => Buffer.from(token, 'latin1'));
}

/** Python's `Fernet(k).decrypt(token)` for each token (null: InvalidToken), and its timestamp. */
function pythonDecrypt(k: string, tokens: Buffer[]) {
  return peer(
    ['fernet-decrypt', k],
    tokens.map((token) => token.toString('hex')),
  ).map((line) => {
    const result = JSON.parse(line) as { hex: string; timestamp: number } | null;
    return result && { plaintext: Buffer.from(result.hex, 'hex'), timestamp: result.timestamp };
  });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A responder on loopback in Fernet mode (unless `options` say otherwise), and its drops. */
async function responder(t: TestContext, options: ResponderOptions = {}) {
  const r = createResponder({
    joinGroups: false,
    port: 0,
    env: {},
    encryption: true,
    secretKey: KEY,
    ...options,
  });
  const drops: string[] = [];
  r.on('drop', (drop) => drops.push(drop.reason));
  await r.start();
  t.after(() => r.stop());
  return { port: r.port as number, drops };
}

describe('Fernet tokens: beckon and Python cryptography agree byte for byte', () => {
  it('decrypts tokens made by Python, for every message length', (t) => {
    if (!needsPython(t)) return;
    const before = nowSeconds();
    const tokens = pythonEncrypt(KEY, MESSAGES);
    const after = nowSeconds();
    assert.equal(tokens.length, MESSAGES.length);
    tokens.forEach((token, i) => {
      const message = decryptFernet(key, token);
      assert.ok(message, `token ${i} did not decrypt: ${token}`);
      assert.deepEqual(message.plaintext, MESSAGES[i]);
      assert.ok(message.timestamp >= before && message.timestamp <= after, `${message.timestamp}`);
      assert.equal(decryptFernet(otherKey, token), undefined, 'decrypted under another key');
      const forged = Buffer.from(token);
      forged[forged.length - 5] = forged[forged.length - 5] === 0x41 ? 0x42 : 0x41; // in the HMAC
      assert.equal(decryptFernet(key, forged), undefined, 'a forged token decrypted');
    });
  });

  it('re-encrypts a Python token to the very same bytes, given its timestamp and IV', (t) => {
    if (!needsPython(t)) return;
    const at = 1_700_000_000;
    const tokens = pythonEncrypt(KEY, MESSAGES, at);
    tokens.forEach((token, i) => {
      const raw = Buffer.from(token.toString('latin1'), 'base64url');
      assert.equal(raw[0], 0x80);
      assert.equal(Number(raw.readBigUInt64BE(1)), at);
      const ours = encryptFernet(key, MESSAGES[i] as Buffer, at, raw.subarray(9, 25));
      assert.equal(ours.toString('latin1'), token.toString('latin1'));
    });
  });

  it('makes tokens that Python decrypts, for every message length', (t) => {
    if (!needsPython(t)) return;
    const now = Date.now() / 1000;
    const tokens = MESSAGES.map((m) => encryptFernet(key, m, now, randomBytes(16)));
    const decrypted = pythonDecrypt(KEY, tokens);
    decrypted.forEach((result, i) => {
      assert.ok(result, `Python refused token ${i}: ${tokens[i]}`);
      assert.deepEqual(result.plaintext, MESSAGES[i]);
      assert.equal(result.timestamp, Math.floor(now));
    });
    assert.deepEqual(
      pythonDecrypt(OTHER_KEY, tokens),
      MESSAGES.map(() => null),
    );
  });

  it('refuses the same keys as the original, with its messages', (t) => {
    if (!needsPython(t)) return;
    const refused = [
      ['', 'Fernet key must be non-empty.'],
      ['   ', 'Fernet key must be non-empty.'],
      ['not-a-key', 'Invalid Fernet key format.'],
      [KEY.slice(0, -1), 'Invalid Fernet key format.'], // no padding
      [Buffer.alloc(16).toString('base64url'), 'Invalid Fernet key format.'], // 16 bytes
    ] as const;
    for (const [text, problem] of refused) {
      assert.equal(decodeFernetKey(text), problem, JSON.stringify(text));
      const run = spawnSync(PYTHON, [CLIENT, 'fernet-encrypt', text], { encoding: 'utf8' });
      assert.equal(run.status, 1, JSON.stringify(text));
      assert.equal(run.stderr.trim(), problem, JSON.stringify(text));
      const server = spawnSync(PYTHON, [SERVER, '--encryption', `--secret-key=${text}`], {
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(server.status, 1, JSON.stringify(text));
      assert.equal(server.stderr.trim(), problem, JSON.stringify(text));
    }
    // Surrounding whitespace and the standard alphabet are accepted by both.
    const standard = KEY.replace(/-/g, '+').replace(/_/g, '/');
    for (const text of [` ${KEY}\n`, standard]) {
      const ours = decodeFernetKey(text);
      assert.equal(typeof ours, 'object', JSON.stringify(text));
      const [token] = pythonEncrypt(text, [Buffer.from(REQUEST)]);
      assert.deepEqual(
        decryptFernet(ours as FernetKey, token as Buffer)?.plaintext,
        Buffer.from(REQUEST),
      );
    }
  });
});

describe("beckon's responder in Fernet mode, asked by Python over loopback", () => {
  it('answers a Python token with a token Python decrypts to SERVER_IP:127.0.0.1[:port]', async (t) => {
    if (!needsPython(t)) return;
    const plain = await responder(t);
    const withPort = await responder(t, { httpPort: 8080 });
    const [first, second] = pythonEncrypt(KEY, [Buffer.from(REQUEST), Buffer.from(REQUEST)]);
    const before = nowSeconds();
    const replies = [
      ...(await exchange(plain.port, [first as Buffer])),
      ...(await exchange(withPort.port, [second as Buffer])),
    ];
    assert.equal(replies.length, 2);
    const decrypted = pythonDecrypt(KEY, replies);
    assert.deepEqual(
      decrypted.map((r) => r?.plaintext.toString()),
      ['SERVER_IP:127.0.0.1', 'SERVER_IP:127.0.0.1:8080'],
    );
    for (const r of decrypted) assert.ok(r && Math.abs(r.timestamp - before) <= 2);
    // The reply is a token, never the plain text, and under no other key.
    assert.ok(replies.every((reply) => !reply.toString().includes('SERVER_IP')));
    assert.deepEqual(pythonDecrypt(OTHER_KEY, replies), [null, null]);
  });

  it('the encrypted original client finds it; with another key it finds nothing', async (t) => {
    if (!needsPython(t)) return;
    const { port } = await responder(t, { httpPort: 3000 });
    // Run asynchronously: the responder answers from this very process.
    const originalDiscover = async (k: string) => {
      const result = await run(PYTHON, [
        CLIENT,
        'discover',
        '--broadcast',
        '127.0.0.1',
        '--port',
        String(port),
        '--timeout',
        '0.5',
        '--encryption',
        `--secret-key=${k}`,
      ]);
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout);
    };
    assert.deepEqual(await originalDiscover(KEY), [
      { ip: '127.0.0.1', port: 3000, source: '127.0.0.1' },
    ]);
    assert.deepEqual(await originalDiscover(OTHER_KEY), []);
  });

  it('answers a captured token once: the same bytes again are a replay', async (t) => {
    if (!needsPython(t)) return;
    const { port, drops } = await responder(t);
    const [token, fresh] = pythonEncrypt(KEY, [Buffer.from(REQUEST), Buffer.from(REQUEST)]);
    const replies = await exchange(port, [token as Buffer, token as Buffer, fresh as Buffer]);
    assert.equal(replies.length, 2, 'the replayed token was answered (or the fresh one not)');
    assert.deepEqual(drops, ['replay']);
    // Again later, from another socket: still a replay.
    assert.deepEqual(await exchange(port, [token as Buffer]), []);
    assert.deepEqual(drops, ['replay', 'replay']);
  });

  it('does not answer a token 10 minutes old or ahead; does with replayProtection: false', async (t) => {
    if (!needsPython(t)) return;
    const guarded = await responder(t);
    const open = await responder(t, { replayProtection: false });
    const [old] = pythonEncrypt(KEY, [Buffer.from(REQUEST)], nowSeconds() - 600);
    const [ahead] = pythonEncrypt(KEY, [Buffer.from(REQUEST)], nowSeconds() + 600);
    const [edge] = pythonEncrypt(KEY, [Buffer.from(REQUEST)], nowSeconds() - 50);
    const stale = [old as Buffer, ahead as Buffer];

    assert.deepEqual(await exchange(guarded.port, stale), []);
    assert.deepEqual(guarded.drops, ['stale', 'stale']);
    assert.equal((await exchange(guarded.port, [edge as Buffer])).length, 1, 'inside the window');

    // Without replay protection, as the original: old tokens, and the same one twice, answered.
    const replies = await exchange(open.port, [...stale, old as Buffer]);
    assert.equal(replies.length, 3);
    assert.deepEqual(
      pythonDecrypt(KEY, replies).map((r) => r?.plaintext.toString()),
      ['SERVER_IP:127.0.0.1', 'SERVER_IP:127.0.0.1', 'SERVER_IP:127.0.0.1'],
    );
    assert.deepEqual(open.drops, []);
  });

  it('answers nothing else: plain requests, other keys, other messages, garbage', async (t) => {
    if (!needsPython(t)) return;
    const { port, drops } = await responder(t);
    const [otherKeyToken] = pythonEncrypt(OTHER_KEY, [Buffer.from(REQUEST)]);
    const otherMessages = pythonEncrypt(KEY, [
      Buffer.from(`${REQUEST}\n`),
      Buffer.from('DISCOVER_SERVE'),
      Buffer.alloc(0),
    ]);
    const [token] = pythonEncrypt(KEY, [Buffer.from(REQUEST)]);
    const truncated = (token as Buffer).subarray(0, 80);
    const datagrams = [
      Buffer.from(REQUEST),
      otherKeyToken as Buffer,
      ...otherMessages,
      truncated,
      randomBytes(100),
    ];
    assert.deepEqual(await exchange(port, datagrams), []);
    // The plain request and the token under another key lack the key; the rest is no request.
    assert.deepEqual(drops, [
      'unauthenticated',
      'unauthenticated',
      ...datagrams.slice(2).map(() => 'not-a-request'),
    ]);
    // A plain client (beckon's) finds nothing either.
    assert.deepEqual(await ask(port, REQUEST), []);
    assert.deepEqual(await discover({ ...LOCAL, port, timeout: 300, retries: 1 }), []);
  });
});

describe("beckon's client in Fernet mode, answered with Python tokens over loopback", () => {
  /** A fake server on loopback that answers every request with `reply` and keeps the requests. */
  async function fakeServer(t: TestContext, reply: Buffer) {
    const peer = await udpPeer((_message, remote, socket) => {
      socket.send(reply, remote.port, remote.address);
    }, '0.0.0.0'); // a socket bound to one address does not receive broadcasts
    t.after(() => peer.close());
    return peer;
  }
  const options = (port: number, extra: DiscoverOptions = {}): DiscoverOptions => ({
    ...LOCAL,
    port,
    timeout: 600,
    retries: 3,
    encryption: true,
    secretKey: KEY,
    ...extra,
  });

  it('sends a fresh token per request that Python decrypts, and believes a Python reply', async (t) => {
    if (!needsPython(t)) return;
    const [reply] = pythonEncrypt(KEY, [Buffer.from('SERVER_IP:127.0.0.1:8080')]);
    const server = await fakeServer(t, reply as Buffer);
    const servers = await discover(options(server.port));
    assert.deepEqual(
      servers.map((s) => [s.ip, s.port, s.raw, s.foreign]),
      [['127.0.0.1', 8080, 'SERVER_IP:127.0.0.1:8080', false]],
    );
    const requests = server.received;
    assert.ok(requests.length >= 2, `only ${requests.length} requests`);
    assert.equal(new Set(requests.map(String)).size, requests.length, 'a token was sent twice');
    assert.deepEqual(
      pythonDecrypt(KEY, requests).map((r) => r?.plaintext.toString()),
      requests.map(() => REQUEST),
    );
  });

  it('ignores a reply under another key, or 10 minutes old unless replayProtection is off', async (t) => {
    if (!needsPython(t)) return;
    const [wrong] = pythonEncrypt(OTHER_KEY, [Buffer.from('SERVER_IP:127.0.0.1:8080')]);
    const [old] = pythonEncrypt(KEY, [Buffer.from('SERVER_IP:127.0.0.1:8081')], nowSeconds() - 600);
    const plain = Buffer.from('SERVER_IP:127.0.0.1:8082');
    const wrongServer = await fakeServer(t, wrong as Buffer);
    const oldServer = await fakeServer(t, old as Buffer);
    const plainServer = await fakeServer(t, plain);
    assert.deepEqual(await discover(options(wrongServer.port)), []);
    assert.deepEqual(await discover(options(oldServer.port)), []);
    assert.deepEqual(await discover(options(plainServer.port)), []);
    const lenient = await discover(options(oldServer.port, { replayProtection: false }));
    assert.deepEqual(
      lenient.map((s) => s.url),
      ['http://127.0.0.1:8081'],
    );
  });
});

/** The Python peer in encrypted mode on 127.0.0.1, stopped after the test. */
async function pythonServer(t: TestContext, ...extra: string[]) {
  const port = await freeUdpPort();
  const args = [
    '--bind',
    '127.0.0.1',
    '--port',
    String(port),
    '--encryption',
    `--secret-key=${KEY}`,
  ];
  const python = new LabProcess(PYTHON, [SERVER, ...args, ...extra]);
  t.after(() => python.stop());
  await python.waitFor(/UDP Discovery listener started on port \d+/);
  return { port, python };
}

describe('the encrypted original server (the Python peer) on loopback', () => {
  it("beckon's client finds it; not with another key, nor in plain mode", async (t) => {
    if (!needsPython(t)) return;
    const { port, python } = await pythonServer(t);
    // It advertises its default-route address, which is not 127.0.0.1 on most machines: keep it.
    const find = (extra: DiscoverOptions) =>
      discover({
        env: {},
        broadcast: false,
        targets: ['127.0.0.1'],
        port,
        timeout: 600,
        retries: 1,
        acceptForeignAddresses: true,
        ...extra,
      });
    const found = await find({ encryption: true, secretKey: KEY });
    assert.equal(found.length, 1);
    assert.equal(found[0]?.source, '127.0.0.1');
    assert.equal(found[0]?.port, 8000);
    assert.match(found[0]?.raw ?? '', /^SERVER_IP:\d+\.\d+\.\d+\.\d+$/);
    assert.match(python.stdout, /Responded to 127\.0\.0\.1:\d+/);
    const answered = python.stdout.split('\n').filter((l) => l.includes('Responded')).length;

    assert.deepEqual(await find({ encryption: true, secretKey: OTHER_KEY }), []);
    assert.deepEqual(await find({}), []);
    await sleep(100);
    assert.equal(
      python.stdout.split('\n').filter((l) => l.includes('Responded')).length,
      answered,
      'the original answered a request under another key, or a plain one',
    );
  });

  it('the original answers a replayed and a 10-minute-old token, as documented', async (t) => {
    if (!needsPython(t)) return;
    const { port } = await pythonServer(t, '--quiet');
    const [old] = pythonEncrypt(KEY, [Buffer.from(REQUEST)], nowSeconds() - 600);
    const replies = await exchange(port, [old as Buffer, old as Buffer]);
    assert.equal(replies.length, 2);
    for (const reply of replies) {
      assert.match(decryptFernet(key, reply)?.plaintext.toString() ?? '', /^SERVER_IP:/);
    }
  });
});
