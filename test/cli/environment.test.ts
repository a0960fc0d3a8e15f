/**
 * The CLI and the environment: `beckon serve` and `beckon discover` configured by the same
 * variables, and the warnings for slips that were silent (on stderr). Runs the built CLI
 * (`npm run build` first); discovery asks 127.0.0.1 by unicast only.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { createResponder } from '../../src/index.js';
import { beckon, beckonServe } from '../helpers/cli.js';
import { freeUdpPort } from '../helpers/udp.js';

const ON_LOOPBACK = ['--no-broadcast', '--target', '127.0.0.1'];

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const task of cleanup.splice(0)) await task();
});

/** Starts `beckon serve` and resolves once it listens; it is stopped after the test. */
async function serve(args: string[], env: Record<string, string>) {
  const server = await beckonServe(args, env);
  cleanup.push(() => server.stop('SIGKILL'));
  return server;
}

describe('beckon serve and discover share the environment', () => {
  it('discover finds serve on DISCOVERY_PORT, with its DISCOVERY_MESSAGE and RESPONSE_PREFIX', async () => {
    const env = {
      DISCOVERY_PORT: String(await freeUdpPort()),
      DISCOVERY_MESSAGE: 'ANYONE_SERVING_HERE',
      RESPONSE_PREFIX: 'AT:',
    };
    const server = await serve(['--http-port', '3210'], env);
    assert.equal(server.port, Number(env.DISCOVERY_PORT));
    const found = await beckon(['discover', ...ON_LOOPBACK, '--json', '--timeout', '3'], env);
    assert.equal(found.code, 0, found.stderr);
    const reply = JSON.parse(found.stdout);
    assert.equal(reply.port, 3210);
    assert.equal(reply.raw, 'AT:127.0.0.1:3210');
  });

  it("discover prefers DISCOVERY_CLIENT_PORT to serve's DISCOVERY_PORT", async () => {
    const theirs = await serve(['--http-port', '3211'], {
      DISCOVERY_PORT: String(await freeUdpPort()),
    });
    const mine = createResponder({
      joinGroups: false,
      port: 0,
      httpPort: 3212,
      env: {},
      rateLimit: 0,
    });
    await mine.start();
    cleanup.push(() => mine.stop());
    const env = { DISCOVERY_PORT: String(theirs.port), DISCOVERY_CLIENT_PORT: String(mine.port) };
    const found = await beckon(['discover', ...ON_LOOPBACK, '--json', '--timeout', '3'], env);
    assert.equal(found.code, 0, found.stderr);
    assert.deepEqual(
      found.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).port),
      [3212],
    );
  });

  it("discover warns that serve's DISCOVERY_PORT=0 cannot be asked, and asks 9999", async () => {
    const run = await beckon(['discover', ...ON_LOOPBACK, '--timeout', '0.3', '--trace'], {
      DISCOVERY_PORT: '0',
    });
    assert.notEqual(run.code, 2, run.stderr);
    assert.match(
      run.stderr,
      /^warning: DISCOVERY_PORT=0 \(any free port\) tells a server where to listen, not a client where to ask: asking 9999/m,
    );
    assert.match(run.stderr, /send .* -> 127\.0\.0\.1:9999 /);
  });
});

describe('CLI warnings for silent slips', () => {
  it('discover warns once on stderr about a misspelled variable, and still runs', async () => {
    const run = await beckon(['discover', ...ON_LOOPBACK, '--port', String(await freeUdpPort())], {
      DISCOVERY_CLIENT_TIMOUT: '0.3',
      DISCOVERY_CLIENT_TIMEOUT: '0.3',
    });
    assert.equal(run.code, 1, run.stderr);
    const warnings = run.stderr.split('\n').filter((line) => line.startsWith('warning:'));
    assert.deepEqual(warnings, [
      'warning: Unknown environment variable DISCOVERY_CLIENT_TIMOUT, ignored: did you mean DISCOVERY_CLIENT_TIMEOUT?',
    ]);
  });

  it('discover warns on stderr about a timeout under 50 ms', async () => {
    const run = await beckon(['discover', ...ON_LOOPBACK, '--port', String(await freeUdpPort())], {
      DISCOVERY_CLIENT_TIMEOUT: '0.002',
    });
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      /^warning: DISCOVERY_CLIENT_TIMEOUT=0\.002 is 2 ms, too short for servers to answer: the variable is in seconds/m,
    );
    assert.equal(run.stderr.match(/too short/g)?.length, 1, run.stderr);
    const flag = await beckon([
      'discover',
      ...ON_LOOPBACK,
      '--port',
      String(await freeUdpPort()),
      '--timeout',
      '0.01',
    ]);
    // Worded for the flag the user typed, not for the library's milliseconds.
    assert.match(
      flag.stderr,
      /^warning: --timeout 0\.01 \(10 ms\) is too short for servers to answer; did you mean 10s\?$/m,
    );
    const short = await beckon([
      'discover',
      ...ON_LOOPBACK,
      '--port',
      String(await freeUdpPort()),
      '-t',
      '10ms',
    ]);
    assert.match(
      short.stderr,
      /^warning: --timeout 10ms is too short for servers to answer; did you mean 10s\?$/m,
    );
    assert.doesNotMatch(`${flag.stderr}${short.stderr}`, /library|milliseconds|timeout: /);
    assert.equal(short.stderr.match(/too short/g)?.length, 1, short.stderr);
  });

  it('serve warns about a misspelled variable in its log', async () => {
    const server = await serve(['--port', '0'], { DISCOVERY_MESAGE: 'HELLO_THERE_SERVER' });
    assert.match(
      server.output,
      /Unknown environment variable DISCOVERY_MESAGE, ignored: did you mean DISCOVERY_MESSAGE\?/,
    );
    assert.equal(server.output.match(/DISCOVERY_MESAGE/g)?.length, 1, server.output);
  });
});
