/**
 * Without the etcd3 package: a responder with a registry warns once, saying how to install
 * it, and answers as before; doctor names the fix. The built library is copied where no
 * node_modules can be found. Needs `npm run build`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('without the etcd3 package', () => {
  it('a registry is one warning saying npm install etcd3; LAN answers and doctor carry on', (t) => {
    assert.ok(existsSync(join(ROOT, 'dist/index.js')), 'run "npm run build" first');
    const dir = mkdtempSync(join(tmpdir(), 'beckon-no-etcd3-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    for (const part of ['dist', 'bin', 'package.json'])
      cpSync(join(ROOT, part), join(dir, part), { recursive: true });
    const script = `
      import { createResponder, discover } from './dist/index.js';
      const warnings = [];
      const states = [];
      const logger = { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) };
      const r = createResponder({ port: 0, env: {}, joinGroups: false, logger, registry: 'etcd://127.0.0.1:1' });
      r.on('registry', ({ state }) => states.push(state));
      await r.start();
      await new Promise((resolve) => setTimeout(resolve, 300));
      const found = await discover({ env: {}, broadcast: false, targets: ['127.0.0.1'], port: r.port, timeout: 300 });
      await r.stop();
      console.log(JSON.stringify({ warnings, states, found: found.length }));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
      timeout: 30_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const result = JSON.parse(run.stdout);
    assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
    assert.match(result.warnings[0], /npm install etcd3/);
    assert.deepEqual(result.states, ['connecting', 'off']);
    assert.equal(result.found, 1);
    const doctor = spawnSync(
      process.execPath,
      ['bin/beckon.js', 'doctor', '--no-self-test', '--json', '--registry', 'etcd://127.0.0.1:1'],
      { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' }, timeout: 30_000 },
    );
    const report = JSON.parse(doctor.stdout);
    const finding = report.findings.find((f: { id: string }) => f.id === 'registry-client-missing');
    assert.equal(finding?.fix, 'npm install etcd3', doctor.stdout);
  });
});
