import assert from 'node:assert/strict';
import { relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { discoverOne } from '../../src/index.js';
import { LabProcess, run } from '../helpers/process.js';
import { LOCAL } from '../helpers/udp.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The examples' environment (added to this process's): free ports, no groups (so no
 * announcements beyond loopback: docs/presence.md), and no marker that would make them think they
 * are a test run (undefined removes a variable).
 */
const EXAMPLE_ENV = {
  PORT: '0',
  DISCOVERY_PORT: '0',
  DISCOVERY_JOIN_GROUPS: 'false',
  NODE_TEST_CONTEXT: undefined,
  NODE_ENV: undefined,
};

describe('examples/', () => {
  for (const [example, greeting] of [
    ['http', 'node:http'],
    ['express', 'Express'],
    ['koa', 'Koa'],
    ['fastify', 'Fastify'],
    ['nestjs', 'NestJS'],
  ] as const) {
    it(`${example}.js is discoverable, and on SIGTERM closes discovery and exits 0`, async () => {
      const app = new LabProcess(process.execPath, [`examples/${example}.js`], {
        env: EXAMPLE_ENV,
      });
      try {
        const [, udpPort, httpPort] = await app.waitFor(
          /Discovery answering on UDP port (\d+), advertising http port (\d+)/,
        );
        const found = await discoverOne({ ...LOCAL, port: Number(udpPort), timeout: 2000 });
        assert.equal(found?.url, `http://127.0.0.1:${httpPort}`);
        assert.equal(await (await fetch(found.url)).text(), `Hello from ${greeting}!\n`);

        const { status, signal } = await app.stop('SIGTERM');
        assert.deepEqual({ status, signal }, { status: 0, signal: null }, app.stdout + app.stderr);
        assert.match(app.stdout, /UDP discovery responder stopped/);
      } finally {
        app.kill('SIGKILL');
      }
    });
  }

  it('test-kit.test.js (beckon/testing) passes under node --test', async (t) => {
    // Not as a child of this runner: a nested run would report to it instead of printing.
    const started = performance.now();
    const result = await run(process.execPath, ['--test', 'examples/test-kit.test.js'], {
      env: { NODE_TEST_CONTEXT: undefined },
      timeoutMs: 60_000,
    });
    const ms = Math.round(performance.now() - started);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /# pass 2\n/);
    assert.match(result.stdout, /# fail 0\n/);
    t.diagnostic(`examples/test-kit.test.js: ${ms} ms, the process's start included`);
  });

  it('vitest-kit.spec.js (beckon/testing) passes under Vitest, the only file Vitest runs', async (t) => {
    // The repo's vitest.config.js: only examples/*.spec.js, no cache written.
    const started = performance.now();
    const result = await run(
      process.execPath,
      ['node_modules/vitest/vitest.mjs', 'run', '--reporter=json'],
      { cwd: ROOT, env: { NODE_TEST_CONTEXT: undefined }, timeoutMs: 60_000 },
    );
    const ms = Math.round(performance.now() - started);
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const report = JSON.parse(result.stdout) as {
      testResults: { name: string; assertionResults: { title: string; status: string }[] }[];
    };
    assert.deepEqual(
      report.testResults.map((file) => relative(ROOT, file.name)),
      ['examples/vitest-kit.spec.js'],
    );
    assert.deepEqual(
      report.testResults[0]?.assertionResults.map((test) => [test.title, test.status]),
      [
        ['the kiosk finds the Express app on the office LAN', 'passed'],
        ['the kiosk sees the server go down when its host vanishes', 'passed'],
      ],
    );
    t.diagnostic(`examples/vitest-kit.spec.js: ${ms} ms, the process's start included`);
  });
});
