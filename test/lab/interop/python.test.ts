import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import { hasPython, PYTHON, requirePrerequisite } from '../../helpers/prerequisite.js';
import {
  discoverCli,
  discoverCliWithEnv,
  discoverLib,
  originalDiscover,
  originalServer,
  serve,
  serveWithEnv,
  summary,
} from '../beckon.js';
import { startLab, type Topology } from '../lab.js';

/** One LAN with a default route, as most offices have: two servers and a client. */
const LAN: Topology = {
  one: { interfaces: { eth0: { segment: 'lan', address: '10.9.0.10/24' } }, gateway: '10.9.0.1' },
  two: { interfaces: { eth0: { segment: 'lan', address: '10.9.0.11/24' } }, gateway: '10.9.0.1' },
  client: {
    interfaces: { eth0: { segment: 'lan', address: '10.9.0.20/24' } },
    gateway: '10.9.0.1',
  },
};

const hasIfaddr = () => hasPython() && spawnSync(PYTHON, ['-c', 'import ifaddr']).status === 0;
const hasCryptography = () =>
  hasPython() && spawnSync(PYTHON, ['-c', 'import cryptography.fernet']).status === 0;

/** The lab for `topology`, or undefined when skipped (Python with ifaddr or root missing). */
async function lab(t: TestContext, topology: Topology = LAN) {
  if (!requirePrerequisite(t, hasIfaddr(), `${PYTHON} with python3-ifaddr`)) return undefined;
  return startLab(t, topology);
}

/** The LAN lab for the encrypted mode: Python also needs python3-cryptography. */
async function encryptedLab(t: TestContext) {
  if (!requirePrerequisite(t, hasCryptography(), `${PYTHON} with python3-cryptography`)) {
    return undefined;
  }
  return lab(t);
}

// Fernet keys. KEY starts with "-", which a command line takes for a flag: beckon gets keys from
// the environment, the Python peers as --secret-key=KEY.
const KEY = '-smYyc5j_A2Rj9FgQxIEtYEt0_4BoPbuvnY6hxySou4=';
const OTHER_KEY = 'FXWF_VBY4PrgSWOZw6_Yp21MOXNWwuGq-9xbBKAPAvE=';
const SERVE_ENCRYPTED = { DISCOVERY_ENCRYPTION_ENABLED: 'true', DISCOVERY_SECRET_KEY: KEY };
const discoverEncrypted = (key: string) => ({
  DISCOVERY_CLIENT_ENCRYPTION_ENABLED: 'true',
  DISCOVERY_CLIENT_SECRET_KEY: key,
});
const responded = (python: { stdout: string }) =>
  python.stdout.split('\n').filter((line) => line.includes('UDP Discovery: Responded')).length;

const byIp = <T extends { ip: string }>(list: T[]) =>
  [...list].sort((a, b) => (a.ip < b.ip ? -1 : 1));

describe('interop with the original Python pair, inside the lab', () => {
  it('the original client finds beckon serve (no --http-port: port 8000, as it assumes)', async (t) => {
    const net = await lab(t);
    if (!net) return;
    await serve(net.host('one'));
    await serve(net.host('two'), '--http-port', '8080');
    const found = await originalDiscover(net.host('client'), '--timeout', '1');
    assert.deepEqual(byIp(found), [
      { ip: '10.9.0.10', port: 8000, source: '10.9.0.10' },
      { ip: '10.9.0.11', port: 8080, source: '10.9.0.11' },
    ]);
  });

  it('beckon discover and discover() find the original server, assuming port 8000', async (t) => {
    const net = await lab(t);
    if (!net) return;
    const python = await originalServer(net.host('one'));
    const cli = await discoverCli(net.host('client'), '--timeout', '1');
    assert.equal(cli.status, 0, cli.run.stderr);
    assert.deepEqual(summary(cli.servers), ['10.9.0.10:8000@eth0']);
    assert.equal(cli.servers[0]?.raw, 'SERVER_IP:10.9.0.10');
    const lib = await discoverLib(net.host('client'), { timeout: 1000 });
    assert.deepEqual(summary(lib), ['10.9.0.10:8000@eth0']);
    assert.match(python.stdout, /Responded to 10\.9\.0\.20:\d+ with server IP: 10\.9\.0\.10/);
  });

  it('a custom message and prefix work both ways, and a mismatch finds nothing', async (t) => {
    const net = await lab(t);
    if (!net) return;
    const custom = ['--message', 'WHERE_IS_API', '--prefix', 'API_AT:'];
    await serve(net.host('one'), '--http-port', '3000', ...custom);
    await originalServer(net.host('two'), ...custom);
    const client = net.host('client');

    assert.deepEqual(byIp(await originalDiscover(client, '--timeout', '1', ...custom)), [
      { ip: '10.9.0.10', port: 3000, source: '10.9.0.10' },
      { ip: '10.9.0.11', port: 8000, source: '10.9.0.11' },
    ]);
    const cli = await discoverCli(client, '--timeout', '1', ...custom);
    assert.deepEqual(summary(cli.servers), ['10.9.0.10:3000@eth0', '10.9.0.11:8000@eth0']);

    assert.deepEqual(await originalDiscover(client, '--timeout', '1'), []);
    const wrongPrefix = await discoverCli(client, '--timeout', '1', '--message', 'WHERE_IS_API');
    assert.equal(wrongPrefix.status, 1);
    assert.deepEqual(wrongPrefix.servers, []);
  });

  it("catches the original server's wrong addresses instead of handing them on", async (t) => {
    // The original advertises its default-route address to everyone: wrong for a client on its
    // second subnet, and 127.0.0.1 on a LAN with no default route.
    const net = await lab(t, {
      multi: {
        interfaces: {
          eth0: { segment: 'office', address: '10.9.1.10/24' },
          eth1: { segment: 'lab', address: '10.9.2.10/24' },
        },
        gateway: '10.9.1.1',
      },
      offline: { interfaces: { eth0: { segment: 'lab', address: '10.9.2.11/24' } } },
      client: { interfaces: { eth0: { segment: 'lab', address: '10.9.2.20/24' } } },
    });
    if (!net) return;
    await originalServer(net.host('multi'));
    await originalServer(net.host('offline'));
    const client = net.host('client');

    // The original client takes both claims at face value.
    assert.deepEqual(byIp(await originalDiscover(client, '--timeout', '1')), [
      { ip: '10.9.1.10', port: 8000, source: '10.9.2.10' },
      { ip: '127.0.0.1', port: 8000, source: '10.9.2.11' },
    ]);
    // beckon drops replies whose claimed address is not their source, and says so...
    const strict = await discoverCli(client, '--timeout', '1');
    assert.equal(strict.status, 1);
    assert.match(
      strict.run.stderr,
      /Dropped a reply from 10\.9\.2\.10 claiming to be 10\.9\.1\.10/,
    );
    assert.match(
      strict.run.stderr,
      /Dropped a reply from 10\.9\.2\.11 claiming to be 127\.0\.0\.1/,
    );
    // ...or keeps them, marked, when asked to.
    const lenient = await discoverCli(client, '--timeout', '1', '--accept-foreign');
    assert.deepEqual(
      byIp(lenient.servers).map((s) => [s.ip, s.source, s.foreign]),
      [
        ['10.9.1.10', '10.9.2.10', true],
        ['127.0.0.1', '10.9.2.11', true],
      ],
    );
  });

  it('the encrypted original client finds beckon serve --encryption; a wrong key does not', async (t) => {
    const net = await encryptedLab(t);
    if (!net) return;
    const encrypted = await serveWithEnv(net.host('one'), SERVE_ENCRYPTED, '--http-port', '8080');
    await serve(net.host('two')); // plain
    assert.match(
      encrypted.stdout,
      /Security: +Fernet encryption, replay protection on \(300 s window\)/,
    );
    const client = net.host('client');

    // Only the encrypted server: the plain one's reply is no token, so it is ignored.
    assert.deepEqual(
      await originalDiscover(client, '--timeout', '1', '--encryption', `--secret-key=${KEY}`),
      [{ ip: '10.9.0.10', port: 8080, source: '10.9.0.10' }],
    );
    assert.match(encrypted.stdout, /Replied to 10\.9\.0\.20:\d+ with SERVER_IP:10\.9\.0\.10:8080/);
    const replies = encrypted.stdout.split('Replied to').length;
    assert.deepEqual(
      await originalDiscover(client, '--timeout', '1', '--encryption', `--secret-key=${OTHER_KEY}`),
      [],
    );
    // The plain original client finds only the plain server.
    assert.deepEqual(await originalDiscover(client, '--timeout', '1'), [
      { ip: '10.9.0.11', port: 8000, source: '10.9.0.11' },
    ]);
    assert.equal(encrypted.stdout.split('Replied to').length, replies, 'answered a wrong key');
    assert.ok(!`${encrypted.stdout}${encrypted.stderr}`.includes(KEY), 'the key was printed');
  });

  it('beckon discover --encryption and discover({ encryption }) find the encrypted original server', async (t) => {
    const net = await encryptedLab(t);
    if (!net) return;
    const python = await originalServer(net.host('one'), '--encryption', `--secret-key=${KEY}`);
    await originalServer(net.host('two')); // plain: its reply is no token
    const client = net.host('client');

    const cli = await discoverCliWithEnv(client, discoverEncrypted(KEY), '--timeout', '1');
    assert.equal(cli.status, 0, cli.run.stderr);
    assert.deepEqual(summary(cli.servers), ['10.9.0.10:8000@eth0']);
    assert.equal(cli.servers[0]?.raw, 'SERVER_IP:10.9.0.10');
    // --encryption on the command line, the key from the server's variable (the fallback).
    const flag = await discoverCliWithEnv(
      client,
      { DISCOVERY_SECRET_KEY: KEY },
      '--timeout',
      '1',
      '--encryption',
    );
    assert.equal(flag.status, 0, flag.run.stderr);
    assert.deepEqual(summary(flag.servers), ['10.9.0.10:8000@eth0']);
    const lib = await discoverLib(client, { timeout: 1000, encryption: true, secretKey: KEY });
    assert.deepEqual(summary(lib), ['10.9.0.10:8000@eth0']);
    assert.match(python.stdout, /Responded to 10\.9\.0\.20:\d+ with server IP: 10\.9\.0\.10/);

    const answered = responded(python);
    const wrong = await discoverCliWithEnv(client, discoverEncrypted(OTHER_KEY), '--timeout', '1');
    assert.equal(wrong.status, 1);
    assert.deepEqual(wrong.servers, []);
    const wrongLib = await discoverLib(client, {
      timeout: 1000,
      encryption: true,
      secretKey: OTHER_KEY,
    });
    assert.deepEqual(wrongLib, []);
    assert.equal(responded(python), answered, 'the original answered a token under another key');
  });

  it('a plain beckon discover finds nothing from encrypted servers', async (t) => {
    const net = await encryptedLab(t);
    if (!net) return;
    const python = await originalServer(net.host('one'), '--encryption', `--secret-key=${KEY}`);
    const beckon = await serveWithEnv(net.host('two'), SERVE_ENCRYPTED);
    const client = net.host('client');

    const plain = await discoverCli(client, '--timeout', '1');
    assert.equal(plain.status, 1);
    assert.deepEqual(plain.servers, []);
    assert.deepEqual(await discoverLib(client, { timeout: 1000 }), []);
    assert.equal(responded(python), 0);
    assert.doesNotMatch(beckon.stdout, /Replied to/);

    // Both are there for a client with the key.
    const keyed = await discoverCliWithEnv(client, discoverEncrypted(KEY), '--timeout', '1');
    assert.deepEqual(summary(keyed.servers), ['10.9.0.10:8000@eth0', '10.9.0.11:8000@eth0']);
  });
});
