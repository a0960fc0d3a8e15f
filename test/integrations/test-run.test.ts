import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectTestRun } from '../../src/integrations/test-run.js';

describe('detectTestRun', () => {
  const plain = {
    env: {},
    execArgv: [] as string[],
    argv: ['/usr/bin/node', '/srv/app/server.js'],
  };

  it('is undefined for an ordinary process', () => {
    assert.equal(detectTestRun(plain.env, plain.execArgv, plain.argv), undefined);
    assert.equal(detectTestRun({ NODE_ENV: 'production', TAP: '' }, [], plain.argv), undefined);
  });

  for (const [what, env, execArgv, argv, expected] of [
    ['NODE_ENV=test', { NODE_ENV: 'test' }, [], plain.argv, /NODE_ENV=test/],
    ['Vitest', { VITEST: 'true' }, [], plain.argv, /Vitest/],
    ['Jest', { JEST_WORKER_ID: '1' }, [], plain.argv, /Jest/],
    ['a node --test child', { NODE_TEST_CONTEXT: 'child-v8' }, [], plain.argv, /node --test/],
    ['node --test itself', {}, ['--test'], plain.argv, /node --test/],
    ['tap', { TAP: '1' }, [], plain.argv, /tap/],
    ['mocha', {}, [], ['/usr/bin/node', '/x/node_modules/.bin/mocha'], /mocha/],
    ['jasmine', {}, [], ['/usr/bin/node', '/x/jasmine.js'], /jasmine/],
  ] as const) {
    it(`recognises ${what}`, () => {
      assert.match(detectTestRun(env, execArgv, argv) ?? '', expected);
    });
  }
});
