/**
 * The README's table of what a TypeScript project that compiles to CommonJS can do with beckon,
 * checked with this checkout's TypeScript against the build (run `npm run build` first): a
 * consumer in a temporary folder whose node_modules/beckon links here, compiled with `tsc`, then
 * run. test/package.test.ts checks that the packed package holds these files.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type RunResult, run } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const STATIC = `import { discoverOne } from 'beckon';
import { attachDiscovery } from 'beckon/http';
import { createTestNetwork } from 'beckon/testing';
console.log(typeof discoverOne, typeof attachDiscovery, typeof createTestNetwork);
`;

/** The README's way for node16/node18: import() for values, resolution-mode for types. */
const DYNAMIC = `import type { Server } from 'beckon' with { 'resolution-mode': 'import' };
async function main(): Promise<void> {
  const { discoverOne } = await import('beckon');
  const { attachDiscovery } = await import('beckon/http');
  const none: Server[] = [];
  console.log(typeof discoverOne, typeof attachDiscovery, none.length);
}
void main();
`;

function node(args: string[], cwd: string): Promise<RunResult> {
  return run(process.execPath, args, { cwd, timeoutMs: 60_000 });
}

/** Compiles `files` in `dir` with `--module <module>` into dir/<module>/. */
function tsc(dir: string, module: string, files: string[]): Promise<RunResult> {
  const options = ['--strict', '--target', 'es2022', '--skipLibCheck', '--outDir', module];
  const types = ['--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node'];
  return node([TSC, ...options, ...types, '--module', module, ...files], dir);
}

function ok(result: RunResult, what: string): RunResult {
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe('TypeScript in a CommonJS project (README, Install)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-cjs-'));

  before(() => {
    assert.ok(existsSync(join(ROOT, 'dist', 'index.d.ts')), 'run "npm run build" first');
    writeFileSync(join(dir, 'package.json'), '{ "private": true, "type": "commonjs" }\n');
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'beckon'), 'dir');
    writeFileSync(join(dir, 'static.ts'), STATIC);
    writeFileSync(join(dir, 'dynamic.ts'), DYNAMIC);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const module of ['nodenext', 'commonjs']) {
    it(`module ${module}: a static import compiles to require(), which loads beckon`, async () => {
      ok(await tsc(dir, module, ['static.ts']), `tsc --module ${module}`);
      const result = ok(await node([`${module}/static.js`], dir), 'the compiled file');
      assert.equal(result.stdout, 'function function function\n');
    });
  }

  it('module node16: a static import is TS1479; import() and resolution-mode work', async () => {
    // One compilation of both files: the errors name static.ts only, and dynamic.ts is emitted.
    const result = await tsc(dir, 'node16', ['static.ts', 'dynamic.ts']);
    const errors = result.stdout.match(/^\S+\(\d+,\d+\): error TS\d+/gm) ?? [];
    assert.ok(errors.length > 0, result.stdout);
    for (const error of errors) assert.match(error, /^static\.ts\(.*TS1479$/, result.stdout);
    const dynamic = ok(await node(['node16/dynamic.js'], dir), 'dynamic.ts');
    assert.equal(dynamic.stdout, 'function function 0\n');
  });
});
