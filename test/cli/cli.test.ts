import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { formatDuration, formatTable } from '../../src/cli/format.js';
import { createResponder, type DoctorReport, type Responder } from '../../src/index.js';
import { beckon, beckonServe, type CliRun } from '../helpers/cli.js';

/** The arguments of `beckon discover` on loopback only, asking UDP `port`. */
const onLo = (port: number) => ['discover', '--port', String(port), '--interface', 'lo'];

/** `beckon discover` on loopback only, asking UDP `port`, with more `flags`. */
function discoverOnLo(port: number, ...flags: string[]): Promise<CliRun> {
  return beckon([...onLo(port), ...flags]);
}

describe('beckon CLI', () => {
  let responder: Responder;
  let port: number;

  before(async () => {
    responder = createResponder({
      joinGroups: false,
      port: 0,
      httpPort: 8123,
      env: {},
      rateLimit: 0,
    });
    await responder.start();
    port = responder.port ?? 0;
  });
  after(() => responder.stop());

  it('doctor names this process as the holder of the port, and its responder as beckon', async () => {
    // --no-self-test: on this machine the self-test would broadcast on the real LAN.
    const run = await beckon(['doctor', '--port', String(port), '--no-self-test', '--json']);
    assert.notEqual(run.code, 2, run.stderr);
    const report = JSON.parse(run.stdout) as DoctorReport;
    assert.equal(report.schema, 1);
    assert.equal(report.selfTest, undefined);
    assert.equal(report.interfaces.find((i) => i.name === 'lo')?.class, 'loopback');
    assert.equal(report.port.state, 'in-use');
    assert.equal(report.port.answers, 'beckon');
    assert.deepEqual(
      report.port.holders.map((h) => h.pid),
      [process.pid],
    );
    assert.equal(report.port.server?.port, 8123);

    const text = await beckon(['doctor', '--port', String(port), '--no-self-test']);
    assert.match(text.stdout, /^Interfaces\n/);
    assert.match(text.stdout, new RegExp(`UDP port ${port}\\n  held by PID ${process.pid} `));
    assert.match(text.stdout, /answers: a beckon responder, advertising 127\.0\.0\.1:8123/);
    assert.match(text.stdout, /Self-test\n {2}skipped/);
    assert.match(text.stdout, /\d+ problems?, \d+ warnings?\.\n$/);
  });

  it('doctor rejects a bad port with a usage error', async () => {
    const run = await beckon(['doctor', '--port', '70000']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--port must be an integer from 1 to 65535, got "70000"/);
  });

  it('discover prints a table of what it found and exits 0', async () => {
    const run = await discoverOnLo(port, '--timeout', '0.5');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Found 1 server:/);
    assert.match(run.stdout, /IP\s+PORT\s+URL\s+INTERFACE\s+RTT\s+VIA/);
    assert.match(
      run.stdout,
      /127\.0\.0\.1\s+8123\s+http:\/\/127\.0\.0\.1:8123\s+lo\s+[\d.]+ ms\s+broadcast/,
    );
  });

  it('discover --json prints one object per server per line', async () => {
    const run = await discoverOnLo(port, '--timeout', '0.5', '--json');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const server = JSON.parse(lines[0] ?? '');
    assert.equal(server.ip, '127.0.0.1');
    assert.equal(server.port, 8123);
    assert.equal(server.url, 'http://127.0.0.1:8123');
    assert.equal(server.source, '127.0.0.1');
    assert.equal(server.interface, 'lo');
  });

  it('discover --first returns on the first reply, well before the deadline', async () => {
    const started = performance.now();
    const run = await discoverOnLo(port, '--timeout', '10', '--first', '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim().split('\n').length, 1);
    assert.ok(performance.now() - started < 5000, 'waited for the deadline');
  });

  it('discover exits 1 when nothing answers', async () => {
    const run = await beckon(['discover', '--port', '9', '--interface', 'lo', '--timeout', '0.3']);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /No servers found\./);
  });

  it('discover reads the original client environment variables; flags win', async () => {
    const env = {
      DISCOVERY_CLIENT_PORT: String(port),
      DISCOVERY_CLIENT_TIMEOUT: '0.4',
      DISCOVERY_CLIENT_INTERFACES_WHITELIST: 'lo',
    };
    const viaEnv = await beckon(['discover', '--json'], env);
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.equal(JSON.parse(viaEnv.stdout).port, 8123);
    const flagWins = await beckon(['discover', '--json', '--port', '9'], env);
    assert.equal(flagWins.code, 1);
  });

  const usage: [string, string[], RegExp][] = [
    [
      'a bad port',
      ['discover', '--port', 'abc'],
      /--port must be an integer from 1 to 65535, got "abc"/,
    ],
    ['a bad timeout', ['discover', '--timeout=-1'], /--timeout must be a number of seconds/],
    ['an unknown flag', ['discover', '--bogus'], /Unknown option --bogus\./],
    ['an unknown command', ['frobnicate'], /Unknown command "frobnicate"/],
    ['a bad target', ['discover', '--target', '10.0.0.0/8'], /Invalid --target: "10.0.0.0\/8"/],
    ['a bad env value', ['discover'], /Invalid DISCOVERY_CLIENT_RETRIES: "many"/],
    [
      'a bad duration',
      ['serve', '--duration', '0'],
      /--duration must be a number of seconds .*greater than 0.*got "0"/,
    ],
    ['a bad allow', ['serve', '--allow', 'nope'], /Invalid --allow: "nope"/],
    [
      'a bad reply jitter',
      ['serve', '--reply-jitter', 'bad'],
      /--reply-jitter must be MIN-MAX milliseconds .*MIN <= MAX <= 10000 ms, e\.g\. 20-120, got "bad"/,
    ],
    ['a reversed reply jitter', ['serve', '--reply-jitter', '120-20'], /--reply-jitter .*"120-20"/],
    ['a reply jitter over 10 s', ['serve', '--reply-jitter', '20001'], /--reply-jitter .*"20001"/],
    [
      'a bad receive buffer',
      ['discover', '--receive-buffer', 'x'],
      /--receive-buffer must be an integer from 0 to 1073741824, got "x"/,
    ],
    [
      'a receive buffer over 1 GiB',
      ['discover', '--receive-buffer', '2147483648'],
      /--receive-buffer must be an integer from 0 to 1073741824, got "2147483648"/,
    ],
  ];
  for (const [name, args, message] of usage) {
    it(`exits 2 on ${name}`, async () => {
      const run = await beckon(args, {
        DISCOVERY_CLIENT_RETRIES: name === 'a bad env value' ? 'many' : '',
      });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
    });
  }

  it('prints help and the version', async () => {
    const help = await beckon(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /beckon serve/);
    assert.match((await beckon(['discover', '--help'])).stdout, /--interface NAME\|GLOB\|CIDR/);
    assert.match((await beckon(['--version'])).stdout, /^\d+\.\d+\.\d+\n$/);
  });
});

describe('beckon serve', () => {
  /** Starts `beckon serve` on a free port and resolves once it listens. */
  const startServe = (args: string[], env: Record<string, string> = {}) =>
    beckonServe(['--port', '0', ...args], env);

  it('prints its configuration, answers, and exits 0 on SIGTERM', async () => {
    const serve = await startServe(['--http-port', '3000']);
    try {
      assert.match(serve.output, /HTTP port:\s+3000/);
      assert.match(serve.output, /Discovery message:\s+DISCOVER_SERVER/);
      const found = await discoverOnLo(serve.port, '--first', '--json');
      assert.equal(JSON.parse(found.stdout).port, 3000);
      const { status } = await serve.stop('SIGTERM');
      assert.equal(status, 0);
      assert.match(serve.output, /Interrupted \(SIGTERM\)\. Stopping\.\.\.\nStopped\./);
      assert.match(serve.output, /Replied to 127\.0\.0\.1:\d+ with SERVER_IP:127\.0\.0\.1:3000/);
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  it('stops by itself when --duration ends', async () => {
    const serve = await startServe(['--duration', '0.5']);
    try {
      const { status } = await serve.exited;
      assert.equal(status, 0);
      assert.match(serve.output, /Duration over \(1s\)\. Stopping\.\.\./);
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  it('answers only signed requests with --auth-key, and discover --json shows the metadata', async () => {
    const key = (await beckon(['keygen'])).stdout.trim();
    assert.match(key, /^[A-Za-z0-9_-]{43}=$/);
    const serve = await startServe(
      [
        '--service',
        'api',
        '--name',
        'Orders API',
        '--app-version',
        '1.2.3',
        '--meta',
        'region=eu-west=1',
        '--http-port',
        '8080',
      ],
      { DISCOVERY_AUTH_KEYS: key },
    );
    try {
      assert.match(serve.output, /Security:\s+shared-key authentication/);
      assert.doesNotMatch(serve.output, new RegExp(key.slice(0, 20)), 'the key is never printed');
      const env = { DISCOVERY_CLIENT_AUTH_KEY: key };
      const args = [...onLo(serve.port), '--timeout', '0.5'];
      const json = await beckon([...args, '--json'], env);
      assert.equal(json.code, 0, json.stderr);
      const server = JSON.parse(json.stdout);
      assert.equal(server.authenticated, true);
      assert.equal(server.protocol, 'extended');
      assert.deepEqual(server.metadata.values, { region: 'eu-west=1' });
      assert.equal(server.metadata.service, 'api');
      const table = await beckon([...args, '--service', 'api'], env);
      assert.match(table.stdout, /SERVICE\s+NAME\s+VERSION/);
      assert.match(table.stdout, /api\s+Orders API\s+1\.2\.3/);
      assert.equal((await beckon([...args, '--service', 'web'], env)).code, 1);
      assert.equal((await beckon(args)).code, 1, 'no key: nothing');
      assert.equal((await beckon([...args, '--extended'])).code, 1, 'unsigned: nothing');
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  it('serves and discovers in Fernet mode with the key from the environment', async () => {
    const key = (await beckon(['keygen'])).stdout.trim();
    const serve = await startServe(['--encryption'], { DISCOVERY_SECRET_KEY: key });
    try {
      assert.match(serve.output, /Security:\s+Fernet encryption, replay protection on/);
      const args = [...onLo(serve.port), '--timeout', '0.5'];
      const found = await beckon([...args, '--encryption', '--json'], {
        DISCOVERY_SECRET_KEY: key,
      });
      assert.equal(found.code, 0, found.stderr);
      assert.equal(JSON.parse(found.stdout).raw, 'SERVER_IP:127.0.0.1');
      assert.equal((await beckon(args)).code, 1);
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  it('refuses --encryption without a key, with the original message', async () => {
    const run = await beckon(['serve', '--encryption']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Invalid DISCOVERY_SECRET_KEY: Fernet key must be non-empty\./);
    const meta = await beckon(['serve', '--meta', 'novalue']);
    assert.equal(meta.code, 2);
    assert.match(meta.stderr, /--meta must be KEY=VALUE, got "novalue"/);
  });

  it('waits --reply-jitter before each reply, and says so', async () => {
    const serve = await startServe(['--reply-jitter', '150-250', '--http-port', '3000']);
    try {
      assert.match(serve.output, /Reply jitter:\s+150-250 ms\n/);
      // One request only: a re-send 100 ms later would be the one a plain reply is timed from.
      // IPv4 only: with jitter, the IPv6 answer may come before the IPv4 ones that say they are
      // one server, and --json streams each server as first heard (docs/ipv6.md).
      const args = ['--timeout', '1.5', '--retries', '0', '--receive-buffer', '300000', '--ipv4'];
      const found = await discoverOnLo(serve.port, ...args, '--json');
      assert.equal(found.code, 0, found.stderr);
      const server = JSON.parse(found.stdout);
      assert.equal(server.port, 3000);
      assert.ok(server.rttMs >= 147 && server.rttMs < 400, `rtt ${server.rttMs} ms`);
    } finally {
      await serve.stop('SIGKILL');
    }
  });

  it('reads DISCOVERY_REPLY_JITTER, shows no jitter by default, and refuses a bad one', async () => {
    const fromEnv = await startServe(['--duration', '0.1'], { DISCOVERY_REPLY_JITTER: '40' });
    try {
      assert.match(fromEnv.output, /Reply jitter:\s+0-40 ms\n/);
    } finally {
      await fromEnv.stop('SIGKILL');
    }
    const plain = await startServe(['--duration', '0.1']);
    try {
      assert.match(plain.output, /Reply jitter:\s+off\n/);
    } finally {
      await plain.stop('SIGKILL');
    }
    const bad = await beckon(['serve', '--port', '0'], { DISCOVERY_REPLY_JITTER: '9-1' });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Invalid DISCOVERY_REPLY_JITTER: "9-1"/);
  });

  it('fails with a message naming the holder when the port is held by something else', async () => {
    const holder = createSocket('udp4');
    holder.bind({ port: 0, address: '0.0.0.0', exclusive: true });
    await once(holder, 'listening');
    const port = holder.address().port;
    try {
      const run = await beckon(['serve', '--no-groups', '--port', String(port)]);
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        new RegExp(
          `UDP port ${port} is held by pid ${process.pid} \\(.*\\), which is not a beckon responder that shares the port`,
        ),
      );
    } finally {
      holder.close();
    }
  });

  it('registers with a beckon responder that holds the port (a sidecar), and says so', async () => {
    const holder = createResponder({ joinGroups: false, port: 0, env: {}, httpPort: 8001 });
    await holder.start();
    try {
      const args = ['--port', String(holder.port), '--service', 'billing', '--http-port', '8090'];
      const run = await beckon(['serve', '--no-groups', ...args, '--duration', '1']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /Host sharing: {7}on/);
      assert.match(
        run.stdout,
        new RegExp(
          `\\[OK\\] Registered with the beckon process answering on UDP port ${holder.port}`,
        ),
      );
      const refused = await beckon(['serve', '--no-groups', ...args, '--no-share']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /this responder does not share it \(shareHost off/);
    } finally {
      await holder.stop();
    }
  });
});

describe('CLI formatting', () => {
  it('formats durations like the original', () => {
    assert.equal(formatDuration(3661), '1h 1m 1s');
    assert.equal(formatDuration(120), '2m');
    assert.equal(formatDuration(0), '0s');
  });

  it('pads table columns', () => {
    assert.equal(formatTable(['A', 'BB'], [['xyz', '1']]), 'A    BB\n---  --\nxyz  1');
  });
});
