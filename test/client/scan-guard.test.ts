// A scan's timer calls the run's clock (user code): what it throws must not escape.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discover } from '../../src/index.js';
import { recordingLogger } from '../helpers/logger.js';
import { freeUdpPort } from '../helpers/udp.js';

it('a clock that throws while a scan runs is a warning: discover() resolves', async () => {
  const port = await freeUdpPort();
  let calls = 0;
  const clock = {
    now: () => {
      // The first calls (options, the first round) work; the scan's later batches throw.
      if (++calls > 3) throw new Error('clock broke');
      return Date.now();
    },
  };
  const logger = recordingLogger();
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on('uncaughtException', onCrash);
  try {
    const started = performance.now();
    const servers = await discover({
      port,
      broadcast: false,
      targets: ['127.0.0.1'],
      scan: ['127.0.1.0/24'],
      scanRate: 100,
      env: {},
      clock,
      logger,
    });
    assert.deepEqual(servers, []);
    assert.ok(
      logger.warnings.some((w) => /Scan stopped: Error: clock broke/.test(w)),
      logger.warnings.join('\n'),
    );
    assert.ok(performance.now() - started < 20_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(crashes, []);
  } finally {
    process.off('uncaughtException', onCrash);
  }
});
