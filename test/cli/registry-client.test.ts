/**
 * `beckon discover --registry` and `beckon watch --registry`, the built CLI against a real etcd on
 * loopback; no LAN requests (`--no-broadcast`, no target).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type Server, watch } from '../../src/index.js';
import { beckon, beckonServe, startBeckon } from '../helpers/cli.js';
import { freePort, startEtcd } from '../helpers/etcd.js';
import { recordWriter } from '../helpers/registry-records.js';

describe('beckon discover and watch --registry', () => {
  it('discover --json lists a registered server via registry; the table says VIA registry', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    await records.put({ instanceId: 'cli-1', service: 'orders', port: 8090 });
    const json = await beckon(['discover', '--no-broadcast', '--registry', etcd.url, '--json']);
    assert.equal(json.code, 0, json.stderr);
    const server = JSON.parse(json.stdout.trim());
    assert.equal(server.via, 'registry');
    assert.equal(server.url, 'http://127.0.0.1:8090');
    assert.equal(server.metadata.instanceId, 'cli-1');
    assert.ok(json.ms < 5000, `took ${Math.round(json.ms)} ms`);
    const table = await beckon(
      ['discover', '--no-broadcast', '--service', 'orders', '-q'],
      { DISCOVERY_REGISTRY: etcd.url }, // the environment works as the flag does
    );
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /127\.0\.0\.1 +8090 .* registry +orders/);
  });

  it('an unreachable registry is a warning and exit status 1 when nothing else is found', async () => {
    const port = await freePort();
    const run = await beckon([
      'discover',
      '--no-broadcast',
      '--registry',
      `etcd://127.0.0.1:${port}`,
      '--json',
    ]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`Registry .*127\\.0\\.0\\.1:${port}`));
    assert.equal(run.stdout, '');
    // Without --json, the advice says the registry was asked too.
    const advice = await beckon([
      'discover',
      '--no-broadcast',
      '--registry',
      `etcd://127.0.0.1:${port}`,
    ]);
    assert.equal(advice.code, 1);
    assert.match(advice.stderr, /The registry etcd:\/\/127\.0\.0\.1:\d+ was asked too/);
    assert.match(advice.stderr, /beckon doctor --registry etcd:\/\/127\.0\.0\.1:\d+/);
  });

  it('names --registry when its value is wrong', async () => {
    const run = await beckon(['discover', '--registry', 'http://127.0.0.1:2379']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--registry/);
    const watch = await beckon(['watch', '--registry', 'etcd://']);
    assert.equal(watch.code, 2);
    assert.match(watch.stderr, /--registry/);
  });

  it('watch --json: up via registry, then down (goodbye)', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const records = recordWriter(t, etcd);
    const watcher = startBeckon(['watch', '--no-broadcast', '--registry', etcd.url, '--json']);
    t.after(() => watcher.kill('SIGKILL'));
    const entry = await records.put({ instanceId: 'cli-w', service: 'orders' });
    const [up] = await watcher.waitFor(/^\{"event":"up".*$/m, 8000);
    assert.equal(JSON.parse(up).server.via, 'registry');
    await entry.goodbye();
    const [down] = await watcher.waitFor(/^\{"event":"down".*$/m, 3000);
    assert.equal(JSON.parse(down).reason, 'goodbye');
    watcher.kill('SIGINT');
    assert.equal((await watcher.exited).status, 130);
  });

  it('a watcher sees a SIGKILLed beckon serve --registry go down (expired) within its lease + 1 s', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const watcher = watch({ broadcast: false, env: {}, registry: etcd.url });
    t.after(() => watcher.close());
    const events: string[] = [];
    const up = new Promise<Server>((resolve) =>
      watcher.on('up', (server) => {
        events.push(`up ${server.via}`);
        resolve(server);
      }),
    );
    const down = new Promise<number>((resolve) =>
      watcher.on('down', (_server, reason) => {
        events.push(`down ${reason}`);
        resolve(performance.now());
      }),
    );
    const serve = await beckonServe([
      ...['--port', '0', '--registry', etcd.url, '--lease', '3', '--service', 'web'],
      ...['--instance-id', 'kill-1', '--http-port', '8091', '--advertise-address', '127.0.0.1'],
    ]);
    t.after(() => serve.stop('SIGKILL'));
    const server = await up;
    assert.equal(server.url, 'http://127.0.0.1:8091');
    assert.equal(server.metadata?.instanceId, 'kill-1');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // keepalives going
    const killed = performance.now();
    await serve.stop('SIGKILL');
    const ms = (await down) - killed;
    t.diagnostic(`SIGKILL to down: ${Math.round(ms)} ms (lease 3 s)`);
    assert.ok(ms < 3000 + 1000, `down ${Math.round(ms)} ms after SIGKILL`);
    assert.deepEqual(events, ['up registry', 'down expired']);
  });

  it('without the etcd3 package: a warning naming npm install etcd3, and the LAN part as before', (t) => {
    // The built CLI copied where no node_modules is on the way up: etcd3 cannot be found.
    const dir = mkdtempSync(join(tmpdir(), 'beckon-no-etcd3-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const root = new URL('../../', import.meta.url).pathname;
    for (const part of ['bin', 'dist/cli-bundle', 'package.json']) {
      cpSync(join(root, part), join(dir, part), { recursive: true });
    }
    const run = spawnSync(
      process.execPath,
      [
        join(dir, 'bin/beckon.js'),
        'discover',
        '--no-broadcast',
        '--registry',
        'etcd://127.0.0.1:1',
      ],
      { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 20_000 },
    );
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /npm install etcd3/);
    assert.doesNotMatch(run.stderr, /at .*\.js:\d+/); // a warning, not a stack trace
  });
});
