/**
 * `beckon serve --registry` and `beckon doctor --registry` against a real etcd on loopback; and
 * that `import 'beckon'` loads no etcd client. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodeRecord, recordKey } from '../../src/registry/record.js';
import { beckon, beckonServe } from '../helpers/cli.js';
import { connectEtcd, startEtcd } from '../helpers/etcd.js';
import { until } from '../helpers/wait.js';

describe('the CLI with a registry', () => {
  it('serve --registry registers; after SIGKILL the key is gone within the default lease + 1 s', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const connection = await connectEtcd(t, etcd);
    const serve = await beckonServe([
      '--port',
      '0',
      '--registry',
      etcd.url,
      '--instance-id',
      'cli-1',
      '--service',
      'web',
      '--http-port',
      '8081',
      '--advertise-address',
      '192.0.2.30',
    ]);
    t.after(() => serve.stop('SIGKILL'));
    assert.match(serve.stdout, new RegExp(`Registry: +${etcd.url.replace(/[.]/g, '\\.')}`));
    await serve.waitFor(
      new RegExp(
        `From another network: beckon discover --registry ${etcd.url.replace(/[.]/g, '\\.')}\n`,
      ),
      10_000,
    );
    await serve.waitFor(/\[OK\] Registered in etcd:\/\//, 10_000);
    const key = recordKey('beckon/', 'web', 'cli-1');
    const [entry] = await connection.list(key);
    assert.ok(entry);
    const decoded = decodeRecord(key, entry.value);
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.record.addresses, ['192.0.2.30']);
    assert.equal(decoded.record.lease, 15_000);
    let deleted: number | undefined;
    let goodbye = false;
    const watch = connection.watch(key, {
      sync: () => {},
      put: (e) => {
        if (JSON.parse(e.value).gone) goodbye = true;
      },
      delete: () => {
        deleted ??= performance.now();
      },
      state: () => {},
    });
    t.after(() => watch.close());
    await new Promise((resolve) => setTimeout(resolve, 500)); // the watch is set up
    const killed = performance.now();
    await serve.stop('SIGKILL');
    await until(() => deleted !== undefined, 17_000, 'the key to expire');
    const ms = (deleted ?? 0) - killed;
    t.diagnostic(`SIGKILL to key deleted: ${ms.toFixed(0)} ms (lease 15 s)`);
    assert.ok(ms <= 16_000, `${ms} ms`);
    assert.equal(goodbye, false, 'no goodbye from a killed process: an expiry');
  });

  it('serve --registry says goodbye on SIGTERM: a put with gone, then the delete', async (t) => {
    const etcd = await startEtcd(t);
    if (!etcd) return;
    const connection = await connectEtcd(t, etcd);
    const serve = await beckonServe(
      ['--port', '0', '--instance-id', 'bye', '--advertise-address', '192.0.2.31'],
      {
        DISCOVERY_REGISTRY: etcd.url,
      },
    );
    t.after(() => serve.stop('SIGKILL'));
    await serve.waitFor(/\[OK\] Registered in etcd:\/\//, 10_000);
    const seen: string[] = [];
    const watch = connection.watch(recordKey('beckon/', undefined, 'bye'), {
      sync: (entries) => seen.push(`sync ${entries.length}`),
      put: (e) => seen.push(JSON.parse(e.value).gone ? 'put gone' : 'put'),
      delete: () => seen.push('delete'),
      state: () => {},
    });
    t.after(() => watch.close());
    await until(() => seen.includes('sync 1'), 5000, 'the watch');
    const exit = await serve.stop('SIGTERM');
    assert.equal(exit.status, 0);
    await until(() => seen.includes('delete'), 5000, 'the delete');
    assert.deepEqual(seen, ['sync 1', 'put gone', 'delete']);
  });

  it('serve --registry with a bad URL names the flag', async () => {
    const run = await beckon(['serve', '--no-groups', '--port', '0', '--registry', 'etcd:/oops']);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /Invalid --registry: "etcd:\/oops" \(expected etcd:\/\/host:port/);
  });
});

describe('the etcd client is loaded only when a registry is configured', () => {
  const loaded = (script: string): string[] => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-imports-'));
    const log = join(dir, 'imports.log');
    try {
      const run = spawnSync(
        process.execPath,
        [
          '--import',
          './test/integrations/fixtures/record-imports.mjs',
          '--input-type=module',
          '-e',
          `${script}
          import { createRequire } from 'node:module';
          console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`,
        ],
        { encoding: 'utf8', env: { ...process.env, BECKON_IMPORT_LOG: log } },
      );
      assert.equal(run.status, 0, run.stderr);
      const lines = run.stdout.trim().split('\n');
      return [
        ...readFileSync(log, 'utf8').split('\n').filter(Boolean),
        ...(JSON.parse(lines[lines.length - 1] ?? '[]') as string[]),
      ];
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it("import 'beckon' and a responder without a registry load no etcd3; with one, it is loaded", () => {
    const without = loaded(`
      import { createResponder } from 'beckon';
      const r = createResponder({ port: 0, env: {}, joinGroups: false });
      await r.start(); await r.stop();`);
    assert.ok(
      without.some((path) => path.includes('/dist/')),
      'nothing recorded',
    );
    assert.deepEqual(
      without.filter((path) => path.includes('etcd3') || path.includes('grpc')),
      [],
    );
    const withRegistry = loaded(`
      import { createResponder } from 'beckon';
      const r = createResponder({ port: 0, env: {}, joinGroups: false, registry: 'etcd://127.0.0.1:1', advertiseAddress: '192.0.2.1' });
      await r.start();
      await new Promise((resolve) => r.once('registry', resolve));
      await r.stop();`);
    assert.ok(
      withRegistry.some((path) => path.includes('node_modules/etcd3/')),
      withRegistry.join('\n'),
    );
  });
});
