/**
 * The CLI's flags as a user types them: durations with units, unknown-flag suggestions, flag names
 * in errors, short flags, --url, --version, the --bind-address warning and the progress line.
 * Discovery stays on loopback: --no-broadcast --target 127.0.0.1.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { durationFlag, jitterFlag, parseDuration } from '../../src/cli/args.js';
import { UsageError } from '../../src/cli/io.js';
import { createResponder, InvalidOptionError, type Responder } from '../../src/index.js';
import { closestMatch, editDistance } from '../../src/suggest.js';
import { beckon } from '../helpers/cli.js';

/** `beckon discover` asking only 127.0.0.1 on UDP `port`. */
const discoverLo = (port: number, ...flags: string[]) =>
  beckon(['discover', '--port', String(port), '--no-broadcast', '--target', '127.0.0.1', ...flags]);

/** A UDP port nobody answers on (the discard port; nothing listens there in a test box). */
const SILENT_PORT = 9;

describe('CLI flags', () => {
  let responder: Responder;
  let port: number;

  before(async () => {
    assert.ok(
      existsSync(new URL('../../dist/cli-bundle/main.js', import.meta.url)),
      'run "npm run build" first',
    );
    responder = createResponder({ port: 0, httpPort: 8124, env: {}, rateLimit: 0 });
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
        ['serve', '--port', '0', '--duration', '400ms', '--reply-jitter', '0.1-0.2s'],
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
});
