/** Unknown environment variables and their "did you mean" (src/options.ts). */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { durationFlag, jitterFlag } from '../src/cli/args.js';
import { resolveDiscoverSettings } from '../src/client/options.js';
import { InvalidOptionError } from '../src/errors.js';
import { createResponder } from '../src/index.js';
import { describeUnknownEnvName, ENV_NAMES, findUnknownEnvNames } from '../src/options.js';
import { closestMatch, closestMatches, editDistance } from '../src/suggest.js';

describe('unknown environment variables', () => {
  const cases: [string, string[] | undefined][] = [
    ['DISCOVERY_CLIENT_TIMOUT', ['DISCOVERY_CLIENT_TIMEOUT']],
    ['DISCOVERY_CLIENT_TIEMOUT', ['DISCOVERY_CLIENT_TIMEOUT']], // transposed
    ['discovery_client_timeout', ['DISCOVERY_CLIENT_TIMEOUT']], // names are case-sensitive
    ['DISCOVERY_PROT', ['DISCOVERY_PORT']],
    ['DISCOVRY_PORT', ['DISCOVERY_PORT']], // not DISCOVERY_*, but a typo of a known name
    ['RESPONSE_PREFX', ['RESPONSE_PREFIX']],
    ['DISCOVERY_RETRIES', ['DISCOVERY_CLIENT_RETRIES']], // a client setting without CLIENT_
    ['DISCOVERY_INTERFACES_WHITELIST', ['DISCOVERY_CLIENT_INTERFACES_WHITELIST']],
    ['DISCOVERY_RESPONSE_PREFIX', ['RESPONSE_PREFIX', 'DISCOVERY_CLIENT_RESPONSE_PREFIX']],
    ['DISCOVERY_CLIENT_SECRET', ['DISCOVERY_CLIENT_SECRET_KEY']],
    ['DISCOVERY_AUTH_KEY', ['DISCOVERY_CLIENT_AUTH_KEY', 'DISCOVERY_AUTH_KEYS']],
    ['DISCOVERY_SOMETHING_ELSE', []],
    // Not ours and not close to any of ours: no warning.
    ['HOME', undefined],
    ['PATH', undefined],
    ['DISPLAY', undefined],
    ['RESPONSE', undefined],
    ['NODE_DEBUG', undefined],
  ];
  for (const [name, suggestions] of cases) {
    it(`${name}: ${suggestions === undefined ? 'not reported' : `suggests ${suggestions.join(', ') || 'nothing'}`}`, () => {
      const found = findUnknownEnvNames({ [name]: '1' });
      assert.deepEqual(found, suggestions === undefined ? [] : [{ name, suggestions }]);
    });
  }

  it('never reports a name beckon reads, nor an unset one', () => {
    const env = Object.fromEntries(ENV_NAMES.map((name) => [name, '1']));
    assert.deepEqual(findUnknownEnvNames(env), []);
    assert.deepEqual(findUnknownEnvNames({ DISCOVERY_PROT: undefined }), []);
  });

  it('reports several at once, sorted, and says where to look when nothing is close', () => {
    const found = findUnknownEnvNames({ DISCOVERY_ZZZ: '1', DISCOVERY_PROT: '1', HOME: '/' });
    assert.deepEqual(
      found.map((u) => u.name),
      ['DISCOVERY_PROT', 'DISCOVERY_ZZZ'],
    );
    assert.equal(
      describeUnknownEnvName(found[1] ?? { name: '', suggestions: [] }),
      'Unknown environment variable DISCOVERY_ZZZ, ignored: the README (Configuration) lists the names beckon reads',
    );
  });

  it('edit distance counts insertions, deletions, substitutions and transpositions', () => {
    assert.equal(editDistance('', ''), 0);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('TIMEOUT', 'TIMOUT'), 1);
    assert.equal(editDistance('TIMEOUT', 'TIEMOUT'), 1);
    assert.equal(editDistance('PORT', 'PART'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    // With a bound it stops early, and says only "more than the bound".
    assert.equal(editDistance('kitten', 'sitting', 1), 2);
    assert.equal(editDistance('kitten', 'sitting', 3), 3);
    assert.equal(editDistance('XDG_SESSION_TYPE', 'DISCOVERY_PORT', 2), 3);
    // The bound never changes a distance within it (a brute check on related strings).
    const alphabet = 'ABC_';
    const pick = (n: number) =>
      Array.from({ length: n }, () => alphabet[Math.floor(Math.random() * 4)]).join('');
    for (let k = 0; k < 500; k++) {
      const a = pick(Math.floor(Math.random() * 8));
      const b = pick(Math.floor(Math.random() * 8));
      const exact = editDistance(a, b);
      for (const max of [0, 1, 2, 3]) {
        assert.equal(editDistance(a, b, max), Math.min(exact, max + 1), `${a} ${b} ${max}`);
      }
    }
  });

  it('closestMatches lists the near candidates, closest first, and closestMatch the best', () => {
    const names = ['port', 'part', 'json', 'timeout'];
    assert.deepEqual(closestMatches('prot', names, 2), ['port', 'part']);
    assert.deepEqual(closestMatches('prot', names, 1), ['port']);
    assert.deepEqual(closestMatches('zzzz', names, 2), []);
    assert.deepEqual(closestMatches('jsn', names, 2, 0), []);
    assert.equal(closestMatch('jsn', names), 'json');
    assert.equal(closestMatch('time', names), 'timeout'); // a unique prefix
    assert.equal(closestMatch('xy', names), undefined);
  });

  it('ENV_NAMES lists every DISCOVERY_* variable that src/ reads', () => {
    const root = new URL('../src/', import.meta.url).pathname;
    const files = readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    const read = new Set<string>();
    for (const file of files) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const [, name] of text.matchAll(/'((?:DISCOVERY|RESPONSE|ENABLE)_[A-Z_]*[A-Z])'/g)) {
        if (name) read.add(name);
      }
    }
    assert.ok(read.size > 15, `only ${read.size} names found: the scan broke`);
    assert.deepEqual(
      [...read].filter((name) => !ENV_NAMES.includes(name)),
      [],
    );
  });
});

describe('durations from the environment and from flags, one parser', () => {
  const timeoutOf = (value: string) =>
    resolveDiscoverSettings({ env: { DISCOVERY_CLIENT_TIMEOUT: value } }).timeout;
  const jitterOf = (value: string) =>
    createResponder({ env: { DISCOVERY_REPLY_JITTER: value } }).settings.replyJitter;

  it('DISCOVERY_CLIENT_TIMEOUT takes units as --timeout does; bare numbers stay seconds', () => {
    for (const [text, ms] of [
      ['2', 2000],
      ['1.5', 1500],
      ['+2', 2000],
      ['500ms', 500],
      ['2s', 2000],
      ['1m', 60_000],
    ] as const) {
      assert.equal(timeoutOf(text), ms, text);
      assert.equal(durationFlag('timeout', text), ms, text);
    }
    for (const bad of ['0', '0ms', '5x', '1d', '-1', '1e3']) {
      assert.throws(
        () => timeoutOf(bad),
        (error: Error) =>
          error instanceof InvalidOptionError &&
          error.option === 'DISCOVERY_CLIENT_TIMEOUT' &&
          /500ms, 2s, 1m/.test(error.message),
        bad,
      );
      assert.throws(() => durationFlag('timeout', bad), /--timeout must be .*500ms, 2s, 1m/, bad);
    }
  });

  it('DISCOVERY_REPLY_JITTER takes units as --reply-jitter does; bare numbers stay milliseconds', () => {
    for (const [text, range] of [
      ['20-120', [20, 120]],
      ['120', [0, 120]],
      ['20ms-120ms', [20, 120]],
      ['20-120ms', [20, 120]],
      ['0.1-0.2s', [100, 200]],
      ['100ms-1s', [100, 1000]],
    ] as const) {
      assert.deepEqual(jitterOf(text), range, text);
      assert.deepEqual(jitterFlag(text), range, text);
    }
    for (const bad of ['1s-100ms', '0-11s', '1-2-3', '-5', 'x', '1.5']) {
      assert.throws(
        () => jitterOf(bad),
        (error: Error) =>
          error instanceof InvalidOptionError &&
          error.option === 'DISCOVERY_REPLY_JITTER' &&
          /20ms-120ms/.test(error.message),
        bad,
      );
      assert.throws(() => jitterFlag(bad), /--reply-jitter must be /, bad);
    }
  });
});
