import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

/**
 * Every module file a fresh process loads when it imports `specifier`: ESM ones as the loader
 * resolves them (a resolve hook logs them), CommonJS ones from `require.cache`.
 */
function modulesLoadedBy(specifier: string): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-imports-'));
  const log = join(dir, 'imports.log');
  try {
    const script = `
      import ${JSON.stringify(specifier)};
      import { createRequire } from 'node:module';
      console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        './test/integrations/fixtures/record-imports.mjs',
        '--input-type=module',
        '-e',
        script,
      ],
      { encoding: 'utf8', env: { ...process.env, BECKON_IMPORT_LOG: log } },
    );
    assert.equal(run.status, 0, run.stderr);
    const esm = readFileSync(log, 'utf8').split('\n').filter(Boolean);
    return [...esm, ...(JSON.parse(run.stdout) as string[])];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('optional peer dependencies', () => {
  it('importing beckon (or beckon/http, beckon/fastify) loads no framework, no package at all', () => {
    for (const specifier of ['beckon', 'beckon/http', 'beckon/fastify']) {
      const loaded = modulesLoadedBy(specifier);
      assert.ok(
        loaded.some((path) => path.includes('/dist/')),
        `${specifier}: nothing recorded`,
      );
      assert.deepEqual(
        loaded.filter((path) => path.includes('node_modules')),
        [],
        specifier,
      );
    }
  });

  it('beckon/nestjs loads Nest: the check above sees packages, ESM or CommonJS', () => {
    const loaded = modulesLoadedBy('beckon/nestjs');
    assert.ok(
      loaded.some((path) => path.includes('node_modules/@nestjs/common/')),
      loaded.join('\n'),
    );
    assert.ok(
      loaded.some((path) => path.includes('node_modules/rxjs/')),
      loaded.join('\n'),
    );
  });
});
