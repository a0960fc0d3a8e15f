import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

/**
 * The CommonJS modules in `require.cache` after importing `specifier` in a fresh process. A
 * package imported from ESM is not listed itself, but the modules it `require`s are.
 */
function modulesLoadedBy(specifier: string): string[] {
  const script = `
    import ${JSON.stringify(specifier)};
    import { createRequire } from 'node:module';
    console.log(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as string[];
}

describe('optional peer dependencies', () => {
  it('importing beckon (or beckon/http, beckon/fastify) loads no framework, no package at all', () => {
    for (const specifier of ['beckon', 'beckon/http', 'beckon/fastify']) {
      assert.deepEqual(
        modulesLoadedBy(specifier).filter((path) => path.includes('node_modules')),
        [],
        specifier,
      );
    }
  });

  it('beckon/nestjs loads Nest and its dependencies: the check above would see such a leak', () => {
    const loaded = modulesLoadedBy('beckon/nestjs');
    assert.ok(
      loaded.some((path) => path.includes('node_modules/rxjs/')),
      loaded.join('\n'),
    );
  });
});
