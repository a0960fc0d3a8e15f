/**
 * `beckon doctor` run in this process (main() with its own io): Ctrl+C ends it with 130 / 143
 * as for discover, and the settings' warnings (typo'd variables, DISCOVERY_PORT=0) reach
 * stderr. Always with --no-self-test: nothing is sent but loopback probes of the checked port.
 */
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import type { DoctorReport } from '../../src/index.js';
import { type MainRun, runMain } from '../helpers/main.js';
import { freeUdpPort } from '../helpers/udp.js';

/** Runs `beckon doctor --no-self-test ...args`; `onStart` gets the signal handler doctor set. */
function doctor(
  args: string[],
  env: NodeJS.ProcessEnv,
  onStart?: (signal: (name: NodeJS.Signals) => void) => void,
): Promise<MainRun> {
  return runMain(['doctor', '--no-self-test', ...args], env, {
    onSignal: (handler) => {
      onStart?.(handler);
      return () => {};
    },
  });
}

describe('beckon doctor', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`exits ${code} on ${signal}, saying it was interrupted`, async (t) => {
      // A silent holder of the port: doctor asks it on loopback, and the signal comes then,
      // while the check is surely running.
      const holder = createSocket('udp4');
      t.after(() => holder.close());
      holder.bind(0, '127.0.0.1');
      await once(holder, 'listening');
      let send: ((name: NodeJS.Signals) => void) | undefined;
      holder.on('message', () => send?.(signal));
      const run = await doctor(['--port', String(holder.address().port)], {}, (handler) => {
        send = handler;
      });
      assert.equal(run.code, code, run.stderr);
      assert.match(run.stderr, new RegExp(`^Interrupted by ${signal} before the checks were done`));
      assert.doesNotMatch(run.stderr, /beckon: Interrupted/);
      assert.equal(run.stdout, '');
    });
  }

  it("warns on stderr about a misspelled variable, and checks serve's DISCOVERY_PORT", async () => {
    const port = await freeUdpPort();
    const run = await doctor(['--json'], {
      DISCOVERY_PORT: String(port),
      DISCOVERY_CLIENT_TIMOUT: '1',
    });
    assert.match(
      run.stderr,
      /^warning: Unknown environment variable DISCOVERY_CLIENT_TIMOUT, ignored: did you mean DISCOVERY_CLIENT_TIMEOUT\?$/m,
    );
    const report = JSON.parse(run.stdout) as DoctorReport;
    assert.equal(report.port.port, port);
  });

  it('warns on stderr that DISCOVERY_PORT=0 cannot be checked, and checks 9999', async () => {
    const run = await doctor(['--json'], { DISCOVERY_PORT: '0' });
    assert.match(run.stderr, /^warning: DISCOVERY_PORT=0 \(any free port\) tells a server/m);
    assert.equal((JSON.parse(run.stdout) as DoctorReport).port.port, 9999);
  });
});
