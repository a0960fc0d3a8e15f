/**
 * Presence across a LAN (docs/presence.md, issue 17), real processes in network namespaces:
 * `beckon watch --json` (and the library's watch() through test/lab/drivers/watch.ts) on one host,
 * `beckon serve` on others. Bounds are the where a loaded 2-core machine holds them; the
 * raw figures are printed as diagnostics (bench/presence.ts measures more runs).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { startLab } from '../lab.js';
import { downOf, presenceLan as lan, startServer, upOf, watchCli, watchLib } from '../presence.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const fmt = (values: number[]) => values.map((v) => `${v} ms`).join(', ');

it('presence 1: start to up, SIGTERM to down (goodbye), SIGKILL to down (expired), a late start', async (t) => {
  const lab = await startLab(t, lan(1, 3));
  if (!lab) return;
  const host = lab.host('watcher');
  const cli = watchCli(host);
  const lib = await watchLib(host);
  // A first server tells when both watchers run (its up reaches them).
  const sentinel = startServer(lab.host('s3'), 8000);
  await sentinel.listening;
  await cli.next(upOf(8000), 10_000);
  await lib.next(upOf(8000), 10_000);

  // Start to up, and SIGTERM to down (goodbye), several times.
  const ups: number[] = [];
  const upsFromSpawn: number[] = [];
  const goodbyes: number[] = [];
  for (let round = 0; round < 4; round++) {
    const port = 8100 + round;
    const server = startServer(lab.host('s1'), port);
    const listening = await server.listening;
    const up = await cli.next(upOf(port), 5000);
    ups.push(up.at - listening);
    upsFromSpawn.push(up.at - server.spawnedAt);
    await sleep(300 + Math.random() * 700);
    const stopAt = Date.now();
    const stopped = server.process.stop('SIGTERM');
    const down = await cli.next(downOf(port), 5000);
    assert.equal(down.reason, 'goodbye');
    goodbyes.push(down.at - stopAt);
    assert.deepEqual(await stopped, { status: 0, signal: null });
  }
  // "Listening" is printed after the first announcement: up may come before the line is read.
  t.diagnostic(`start (spawn) to up: ${fmt(upsFromSpawn)}; "Listening" read to up: ${fmt(ups)}`);
  t.diagnostic(`SIGTERM to down (goodbye): ${fmt(goodbyes)}`);
  for (const ms of upsFromSpawn) assert.ok(ms <= 1500, `up ${ms} ms after the server started`);
  // The bound is 0.5 s; a little slack for a loaded machine (the figures above are raw).
  for (const ms of goodbyes) assert.ok(ms <= 800, `down ${ms} ms after SIGTERM`);

  // SIGKILL with a 3 s lease: down (expired) at most lease + 1 s after the kill, and never
  // before the lease has run out since the watcher last heard it.
  const lease = 3000;
  const kills: number[] = [];
  const sinceHeard: number[] = [];
  for (let round = 0; round < 3; round++) {
    const port = 8200 + round;
    const server = startServer(lab.host('s2'), port, '--lease', '3s');
    await server.listening;
    await cli.next(upOf(port), 5000);
    await lib.next(upOf(port), 5000);
    await sleep(500 + Math.random() * 3000); // anywhere in the lease
    const killAt = Date.now();
    server.process.kill('SIGKILL');
    const down = await cli.next(downOf(port), lease + 5000);
    const libDown = await lib.next(downOf(port), 5000);
    assert.equal(down.reason, 'expired');
    assert.equal(libDown.reason, 'expired');
    kills.push(down.at - killAt);
    assert.ok(libDown.lastSeen !== undefined, 'the driver knew when it last heard the server');
    sinceHeard.push(libDown.at - libDown.lastSeen);
    assert.ok(
      libDown.at - libDown.lastSeen >= lease,
      `down only ${libDown.at - libDown.lastSeen} ms after last heard`,
    );
    await server.process.exited;
  }
  t.diagnostic(
    `SIGKILL to down (expired), lease 3 s: ${fmt(kills)}; last heard to down: ${fmt(sinceHeard)}`,
  );
  for (const ms of kills) assert.ok(ms <= lease + 1000 && ms >= 0, `down ${ms} ms after SIGKILL`);

  // No other down than those asked for: the sentinel stayed up all along.
  assert.ok(!cli.of(8000).some((e) => e.event === 'down'), 'the sentinel never went down');
  await sentinel.process.stop('SIGTERM');

  // A server started 3 s after `beckon watch` began (on a quiet LAN) is seen, every time.
  await cli.next(downOf(8000), 5000);
  const late: number[] = [];
  for (let round = 0; round < 4; round++) {
    const watcher = watchCli(host);
    try {
      await sleep(3000);
      const port = 8300 + round;
      const server = startServer(lab.host('s1'), port);
      await server.listening;
      const up = await watcher.next(upOf(port), 5000);
      late.push(up.at - server.spawnedAt);
      await server.process.stop('SIGTERM');
    } finally {
      await watcher.process.stop('SIGTERM');
    }
  }
  t.diagnostic(`late start (spawn to up, watcher begun 3 s before): ${fmt(late)}`);
  for (const ms of late) assert.ok(ms <= 1500, `late server up ${ms} ms after it started`);
});
