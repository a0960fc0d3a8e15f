/**
 * The CLI's flags as a user types them: durations with units, unknown-flag suggestions, flag names
 * in errors, short flags, --url, --version, the --bind-address warning and the progress line.
 * Discovery stays on loopback: --no-broadcast --target 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { durationFlag, jitterFlag } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/io.js';
import { parseDuration } from '../../src/duration.js';
import { createResponder, InvalidOptionError, type Responder } from '../../src/index.js';
import { closestMatch, editDistance } from '../../src/suggest.js';
import { beckon, beckonServe } from '../helpers/cli.js';
import { runMain } from '../helpers/main.js';

/** `beckon discover` asking only 127.0.0.1 on UDP `port`. */
const discoverLo = (port: number, ...flags: string[]) =>
  beckon(['discover', '--port', String(port), '--no-broadcast', '--target', '127.0.0.1', ...flags]);

/** A UDP port nobody answers on (the discard port; nothing listens there in a test box). */
const SILENT_PORT = 9;

describe('CLI flags', () => {
  let responder: Responder;
  let port: number;

  before(async () => {
    responder = createResponder({
      joinGroups: false,
      port: 0,
      httpPort: 8124,
      env: {},
      rateLimit: 0,
    });
    await responder.start();
    port = responder.port ?? 0;
  });
  after(() => responder.stop());

  describe('durations take a unit; bare numbers stay seconds', () => {
    it('parses seconds, ms, s, m and h, case-insensitively', () => {
      const cases: [string, number | undefined][] = [
        ['2', 2000],
        ['1.5', 1500],
        ['.25', 250],
        ['500ms', 500],
        ['500 ms', 500],
        ['2s', 2000],
        ['0.5S', 500],
        ['1m', 60_000],
        ['1.5m', 90_000],
        ['2h', 7_200_000],
        ['1d', undefined],
        ['-1s', undefined],
        ['s', undefined],
        ['1e3', undefined],
        ['', undefined],
      ];
      for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
      assert.equal(parseDuration('120', 'ms'), 120);
    });

    it('refuses a bad duration naming the flag, the value and what is allowed', () => {
      for (const bad of ['0', '0ms', '5x', '1d', '30 days', '25000h']) {
        assert.throws(
          () => durationFlag('timeout', bad),
          (error: Error) =>
            error instanceof UsageError &&
            error.message.includes('--timeout must be') &&
            error.message.includes(`got "${bad}"`) &&
            /500ms, 2s, 1m/.test(error.message),
          bad,
        );
      }
    });

    it('reads --reply-jitter in milliseconds, or with units on either side', () => {
      assert.deepEqual(jitterFlag('20-120'), [20, 120]);
      assert.deepEqual(jitterFlag('80'), [0, 80]);
      assert.deepEqual(jitterFlag('20ms-120ms'), [20, 120]);
      assert.deepEqual(jitterFlag('20-120ms'), [20, 120]);
      assert.deepEqual(jitterFlag('0.1-0.2s'), [100, 200]);
      assert.deepEqual(jitterFlag('0-1s'), [0, 1000]);
      assert.deepEqual(jitterFlag('100ms-1s'), [100, 1000]);
      for (const bad of ['1s-100ms', '0-11s', '1-2-3', '-5', 'x']) {
        assert.throws(() => jitterFlag(bad), /--reply-jitter must be .* got "/, bad);
      }
    });

    it('discover --timeout 300ms ends after 300 ms, not 300 s nor the 2 s default', async () => {
      const run = await discoverLo(SILENT_PORT, '--timeout', '300ms', '--trace');
      assert.equal(run.code, 1, run.stderr);
      const end = /trace \+([\d.]+)ms end: /.exec(run.stderr);
      assert.ok(end, run.stderr);
      const ms = Number(end[1]);
      assert.ok(ms >= 290 && ms < 1900, `ended after ${ms} ms`);
    });

    it('discover --timeout 2s finds the server; a bad unit is a usage error', async () => {
      const found = await discoverLo(port, '--timeout', '2s', '--json', '--first');
      assert.equal(found.code, 0, found.stderr);
      assert.equal(JSON.parse(found.stdout).port, 8124);
      const bad = await discoverLo(port, '--timeout', '2 sec');
      assert.equal(bad.code, 2);
      assert.match(
        bad.stderr,
        /--timeout must be a number of seconds \(1\.5\) or a number with a unit: ms, s, m or h \(500ms, 2s, 1m\), greater than 0 .*got "2 sec"/,
      );
    });

    it('serve --duration 400ms stops by itself, and --reply-jitter takes units', async () => {
      const run = await beckon(
        [
          'serve',
          '--no-groups',
          '--port',
          '0',
          '--duration',
          '400ms',
          '--reply-jitter',
          '0.1-0.2s',
        ],
        {},
        15_000,
      );
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /Reply jitter:\s+100-200 ms\n/);
      assert.match(run.stdout, /Stopping automatically in 400ms\./);
      assert.match(run.stdout, /Duration over \(400ms\)\. Stopping\.\.\./);
    });
  });

  describe('an unknown flag suggests the closest one of its command', () => {
    it('closestMatch and editDistance', () => {
      assert.equal(editDistance('jsn', 'json'), 1);
      assert.equal(editDistance('jsno', 'json'), 1, 'a swap is one edit');
      assert.equal(editDistance('', 'abc'), 3);
      assert.equal(closestMatch('jsn', ['port', 'json']), 'json');
      assert.equal(closestMatch('tiemout', ['port', 'timeout']), 'timeout');
      assert.equal(closestMatch('time', ['port', 'timeout', 'trace']), 'timeout');
      assert.equal(closestMatch('PORT', ['port']), 'port');
      assert.equal(closestMatch('bogus', ['port', 'json', 'first']), undefined);
      assert.equal(closestMatch('x', ['port', 'json']), undefined);
    });

    const cases: [string[], RegExp][] = [
      [['discover', '--jsn'], /^beckon: Unknown option --jsn\. Did you mean --json\?\n/],
      [['discover', '--tiemout=2'], /Unknown option --tiemout\. Did you mean --timeout\?/],
      [
        ['discover', '--interfaces', 'lo'],
        /Unknown option --interfaces\. Did you mean --interface\?/,
      ],
      [
        ['discover', '--no-brodcast'],
        /Unknown option --no-brodcast\. Did you mean --no-broadcast\?/,
      ],
      [
        ['serve', '--advertise', '10.0.0.1'],
        /Unknown option --advertise\. Did you mean --advertise-address\?/,
      ],
      [['serve', '--http-prot', '80'], /Unknown option --http-prot\. Did you mean --http-port\?/],
      [['doctor', '--no-selftest'], /Unknown option --no-selftest\. Did you mean --no-self-test\?/],
      [['doctor', '-json'], /Unknown option -json\. Did you mean --json\?/],
      [['keygen', '--hlep'], /Unknown option --hlep\. Did you mean --help\?/],
      [['discover', '--bogus'], /Unknown option --bogus\.\n/],
      [['discover', '-x'], /Unknown option -x\.\n/],
    ];
    for (const [args, message] of cases) {
      it(`beckon ${args.join(' ')}`, async () => {
        const run = await beckon(args);
        assert.equal(run.code, 2, run.stderr);
        assert.match(run.stderr, message);
        assert.match(run.stderr, new RegExp(`Run "beckon ${args[0]} --help" for usage\\.`));
        assert.equal(run.stdout, '');
      });
    }
  });

  describe('errors name the flag the user typed, not the library option', () => {
    const KEY = 'cLvMvJ1Yh2nZm2Q8r8b3lS1aV3nJf7lJ6Xm8k5nJq2E=';
    const cases: [string[], RegExp, RegExp][] = [
      [
        ['serve', '--advertise-address', 'foo'],
        /Invalid --advertise-address: "foo" \(expected a dotted IPv4 address/,
        /advertiseAddress/,
      ],
      [['serve', '--bind-address', '1.2.3'], /Invalid --bind-address: "1\.2\.3"/, /bindAddress/],
      [
        ['serve', '--off-link', 'all'],
        /Invalid --off-link: "all" \(expected 'private' \(answer private senders behind a router, at a lower rate\) or 'none'\)/,
        /offLink/,
      ],
      [['serve', '--scheme', '1x'], /Invalid --scheme: "1x"/, /Invalid scheme/],
      [['serve', '--app-version', 'a\u0001'], /Invalid --app-version: /, /Invalid version/],
      [['serve', '--auth-key', 'short'], /Invalid --auth-key: a key of 5 bytes/, /authKeys/],
      [
        ['serve', '--auth-key', KEY, '--auth-key', 'short'],
        /Invalid --auth-key #2: a key of 5 bytes/,
        /authKeys/,
      ],
      [
        ['discover', '--interface', '10.0.0.0/40'],
        /Invalid --interface: "10\.0\.0\.0\/40"/,
        /interfaces/,
      ],
      [['discover', '--exclude', ''], /Invalid --exclude: \[""\]/, /Invalid exclude/],
      [['discover', '--target', 'a b'], /Invalid --target: "a b"/, /targets/],
      [
        ['discover', '--encryption', '--secret-key', 'abc'],
        /Invalid --secret-key: Invalid Fernet key format/,
        /secretKey/,
      ],
      [
        ['discover', '--service', 'api', '--encryption', '--secret-key', KEY],
        /Invalid --service: "api" \(expected Fernet encryption or the extended protocol \(a service filter or an auth key\), not both\)/,
        /authKey/,
      ],
      [['discover', '--message', 'x'.repeat(600)], /Invalid --message: "x+"/, /Invalid message/],
    ];
    for (const [args, named, notNamed] of cases) {
      it(`beckon ${args.join(' ').slice(0, 60)}`, async () => {
        const run = await beckon(args);
        assert.equal(run.code, 2, run.stderr);
        assert.match(run.stderr, named);
        assert.doesNotMatch(run.stderr, notNamed);
      });
    }

    it('a bad value from the environment still names the variable', async () => {
      const run = await beckon(['discover', '--encryption'], {
        DISCOVERY_CLIENT_SECRET_KEY: 'abc',
      });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /Invalid DISCOVERY_CLIENT_SECRET_KEY: Invalid Fernet key format/);
    });

    it('InvalidOptionError.withOption keeps the value, the detail and the code', () => {
      const original = new InvalidOptionError('advertiseAddress', 'foo', 'an IPv4 address');
      const renamed = original.withOption('--advertise-address');
      assert.equal(
        renamed.message,
        'Invalid --advertise-address: "foo" (expected an IPv4 address)',
      );
      assert.equal(renamed.option, '--advertise-address');
      assert.equal(renamed.value, 'foo');
      assert.equal(renamed.code, 'BECKON_ERR_INVALID_OPTION');
      assert.equal(renamed.cause, original);
      const secret = InvalidOptionError.secret('secretKey', 'too short', 'a key').withOption('--k');
      assert.equal(secret.message, 'Invalid --k: too short (expected a key)');
      assert.equal(secret.value, '<redacted>');
    });
  });

  describe('short flags', () => {
    it('discover -p -t -j -1 find the server like their long forms', async () => {
      const args = ['discover', '-p', String(port), '-t', '5s', '-j', '-1'];
      const run = await beckon([...args, '--no-broadcast', '--target', '127.0.0.1']);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trim().split('\n');
      assert.equal(lines.length, 1);
      assert.equal(JSON.parse(lines[0] ?? '').port, 8124);
      assert.ok(run.ms < 4500, `-1 stops at the first reply, not after -t 5s (${run.ms} ms)`);
    });

    it('discover -i is --interface (an error about it names --interface)', async () => {
      const run = await beckon(['discover', '-i', '10.0.0.0/40']);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /Invalid --interface: "10\.0\.0\.0\/40"/);
    });

    it('discover -v adds the SOURCE and RAW columns', async () => {
      const run = await discoverLo(port, '-t', '0.5', '-v');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /SOURCE\s+RAW/);
      assert.match(run.stdout, /"SERVER_IP:127\.0\.0\.1:8124"/);
    });

    it('discover -q prints no advice when nothing is found; without it, it does', async () => {
      const quiet = await discoverLo(SILENT_PORT, '-t', '300ms', '-q');
      assert.equal(quiet.code, 1);
      assert.equal(quiet.stderr, '');
      assert.equal(quiet.stdout, '');
      const chatty = await discoverLo(SILENT_PORT, '-t', '300ms');
      assert.equal(chatty.code, 1);
      assert.match(chatty.stderr, /No servers found\./);
    });

    it('serve -p, -q and -v', async () => {
      const quiet = await beckon(['serve', '--no-groups', '-p', '0', '-q', '--duration', '300ms']);
      assert.equal(quiet.code, 0, quiet.stderr);
      assert.equal(quiet.stdout, '');
      const verbose = await beckon([
        'serve',
        '--no-groups',
        '-p',
        '0',
        '-v',
        '--duration',
        '300ms',
      ]);
      assert.equal(verbose.code, 0, verbose.stderr);
      assert.match(verbose.stdout, /\[OK\] Listening on 0\.0\.0\.0:\d+/);
      assert.match(verbose.stderr, /UDP discovery responder listening on port \d+/);
      const plain = await beckon(['serve', '--no-groups', '-p', '0', '--duration', '300ms']);
      assert.doesNotMatch(plain.stderr, /responder listening/);
      const badPort = await beckon(['serve', '-p', '70000']);
      assert.equal(badPort.code, 2);
      assert.match(badPort.stderr, /--port must be an integer from 0 to 65535, got "70000"/);
    });

    it('doctor -p and -j', async () => {
      const run = await beckon(['doctor', '-p', String(port), '-j', '--no-self-test']);
      assert.notEqual(run.code, 2, run.stderr);
      const report = JSON.parse(run.stdout) as { port: { port: number; answers: string } };
      assert.equal(report.port.port, port);
      assert.equal(report.port.answers, 'beckon');
    });

    it('each command lists its short flags in --help', async () => {
      const shorts: Record<string, string[]> = {
        discover: [
          '-p, --port',
          '-t, --timeout',
          '-1, --first',
          '-i, --interface',
          '-j, --json',
          '-q, --quiet',
          '-v, --verbose',
          '-h, --help',
        ],
        serve: ['-p, --port', '-q, --quiet', '-v, --verbose', '-h, --help'],
        doctor: ['-p, --port', '-j, --json', '-h, --help'],
        keygen: ['-h, --help'],
      };
      for (const [command, flags] of Object.entries(shorts)) {
        const help = await beckon([command, '-h']);
        assert.equal(help.code, 0);
        for (const flag of flags) assert.ok(help.stdout.includes(flag), `${command}: ${flag}`);
      }
    });
  });

  describe('discover --url', () => {
    it('prints only the URL, which curl (here fetch) can open', async () => {
      const http = createServer((_request, response) => response.end('hello from the server'));
      http.listen(0, '127.0.0.1');
      await once(http, 'listening');
      const httpPort = (http.address() as AddressInfo).port;
      const server = createResponder({
        joinGroups: false,
        port: 0,
        httpPort,
        env: {},
        rateLimit: 0,
      });
      await server.start();
      try {
        const run = await discoverLo(server.port ?? 0, '-1', '--url', '-t', '5');
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, `http://127.0.0.1:${httpPort}\n`);
        assert.equal(run.stderr, '');
        const response = await fetch(run.stdout.trim());
        assert.equal(await response.text(), 'hello from the server');
      } finally {
        await server.stop();
        http.close();
      }
    });

    it('prints one URL per server, and nothing on stdout when none answers', async () => {
      const run = await discoverLo(port, '--url', '-t', '0.5');
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'http://127.0.0.1:8124\n');
      const none = await discoverLo(SILENT_PORT, '--url', '-t', '300ms');
      assert.equal(none.code, 1);
      assert.equal(none.stdout, '');
      assert.match(none.stderr, /No servers found\./, 'the advice still goes to stderr');
    });

    it('refuses --url with --json', async () => {
      const run = await discoverLo(port, '--url', '--json');
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--json and --url print different things: choose one\./);
    });
  });

  describe('--version and unknown commands', () => {
    it('beckon --version (or -v) prints the version of package.json', async () => {
      const { version } = JSON.parse(
        readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
      ) as { version: string };
      for (const flag of ['--version', '-v', '-V']) {
        const run = await beckon([flag]);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, `${version}\n`);
      }
    });

    it('beckon -v before a command is a usage error that points to --verbose after it', async () => {
      const run = await beckon(['-v', 'discover', '--timeout', '0.2']);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(
        run.stderr,
        /"-v" before a command means --version .*for --verbose, put -v after the command: beckon discover -v/,
      );
      const help = await beckon(['--help']);
      assert.match(help.stdout, /-v or -V\); after a command, -v is --verbose/);
    });

    it('suggests the closest command or top-level option', async () => {
      const cases: [string, RegExp][] = [
        ['discovr', /Unknown command "discovr"\. Did you mean "discover"\?/],
        ['--verison', /Unknown option "--verison"\. Did you mean "--version"\?/],
        ['frobnicate', /Unknown command "frobnicate"\.\n/],
      ];
      for (const [name, message] of cases) {
        const run = await beckon([name]);
        assert.equal(run.code, 2, name);
        assert.match(run.stderr, message);
      }
    });
  });

  describe('serve --bind-address', () => {
    /** Starts `beckon serve` with `flags` and resolves once it listens, with its port. */
    async function serve(...flags: string[]) {
      const server = await beckonServe(['-p', '0', ...flags]);
      // The warning follows the Listening line; give it a moment to arrive.
      await new Promise((r) => setTimeout(r, 100));
      return server;
    }

    /** Whether a DISCOVER_SERVER sent to `address`:`port` gets any reply within 600 ms. */
    async function answered(address: string, port: number): Promise<boolean> {
      const socket = createSocket('udp4');
      try {
        await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
        socket.setBroadcast(true);
        const reply = once(socket, 'message').then(() => true);
        // Three sends, in case one is lost on a loaded machine.
        for (let i = 0; i < 3; i++) {
          socket.send('DISCOVER_SERVER', port, address);
          const got = await Promise.race([reply, new Promise((r) => setTimeout(r, 200, false))]);
          if (got) return true;
        }
        return false;
      } finally {
        socket.close();
      }
    }

    it('warns that a unicast address gets no broadcasts, which is what happens', async () => {
      const unicast = await serve('--bind-address', '127.0.0.1');
      try {
        assert.match(
          unicast.stderr,
          /warning: --bind-address 127\.0\.0\.1 is a unicast address: broadcasts .* are not delivered to a socket bound to it on Linux, so only requests sent straight to 127\.0\.0\.1:\d+ get an answer\. Leave --bind-address out \(0\.0\.0\.0\) to answer broadcasts\./,
        );
        assert.match(unicast.stdout, /Try it: beckon discover --port \d+ --target 127\.0\.0\.1\n/);
        // The loopback broadcast address stays on this host.
        assert.equal(await answered('127.255.255.255', unicast.port), false, 'broadcast answered');
        assert.equal(await answered('127.0.0.1', unicast.port), true, 'unicast not answered');
      } finally {
        await unicast.stop('SIGKILL');
      }
      const wildcard = await serve('--bind-address', '0.0.0.0');
      try {
        assert.doesNotMatch(wildcard.stderr, /unicast/);
        assert.equal(await answered('127.255.255.255', wildcard.port), true);
      } finally {
        await wildcard.stop('SIGKILL');
      }
    });
  });

  describe('the progress line', () => {
    /** Runs `beckon discover` in this process with stderr a terminal (or not) and env `env`. */
    function discoverOnTerminal(isTTY: boolean, env: NodeJS.ProcessEnv, ...flags: string[]) {
      const args = ['--port', String(port), '--no-broadcast', '--target', '127.0.0.1'];
      return runMain(['discover', ...args, '-t', '0.5', ...flags], env, { isTTY });
    }

    it('is erased with an escape sequence on a terminal', async () => {
      const run = await discoverOnTerminal(true, { TERM: 'xterm-256color' });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stderr,
        `Searching for servers on UDP port ${port} (up to 0.5 s)...\r\x1b[K`,
      );
      assert.match(run.stdout, /Found 1 server:/);
    });

    it('has no escape sequences when TERM=dumb: a plain line instead', async () => {
      const run = await discoverOnTerminal(true, { TERM: 'dumb' });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr, `Searching for servers on UDP port ${port} (up to 0.5 s)...\n`);
      assert.ok(!(run.stdout + run.stderr).includes('\x1b'), 'an escape sequence');
    });

    it('is not printed when stderr is not a terminal, nor with -q', async () => {
      const piped = await discoverOnTerminal(false, { TERM: 'xterm' });
      assert.equal(piped.code, 0);
      assert.equal(piped.stderr, '');
      const quiet = await discoverOnTerminal(true, { TERM: 'xterm' }, '-q');
      assert.equal(quiet.code, 0);
      assert.equal(quiet.stderr, '');
    });
  });
});
