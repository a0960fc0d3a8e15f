/**
 * The node:test and Vitest examples of docs/testing-your-app.md run as written (against dist/,
 * built before the tests), in a child process: the doc stays true.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from '../helpers/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HEADER = "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\n";

/** The doc's `js` blocks that are whole tests, with beckon's imports pointed at dist/. */
function examples(): { nodeTest: string[]; vitest: string[] } {
  const doc = readFileSync(join(ROOT, 'docs/testing-your-app.md'), 'utf8');
  const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map(([, code = '']) => code);
  const dist = (path: string) => pathToFileURL(join(ROOT, 'dist', path)).href;
  const toDist = (code: string) =>
    code
      .replaceAll("from 'beckon/testing'", `from '${dist('testing/index.js')}'`)
      .replaceAll("from 'beckon/http'", `from '${dist('integrations/http.js')}'`)
      .replaceAll("from 'beckon'", `from '${dist('index.js')}'`);
  const tests = blocks.filter((code) => code.includes('test('));
  const isVitest = (code: string) => code.includes("from 'vitest'");
  return {
    nodeTest: tests
      .filter((code) => !isVitest(code))
      .map((code) => toDist(code.includes("from 'node:test'") ? code : HEADER + code)),
    vitest: tests.filter(isVitest).map(toDist),
  };
}

/** A temporary directory, removed after the test, holding `files` (name -> code). */
function scratch(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'beckon-testing-doc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, code] of Object.entries(files)) writeFileSync(join(dir, name), code);
  return dir;
}

describe('docs/testing-your-app.md', () => {
  it('its node:test examples pass', async (t) => {
    const { nodeTest } = examples();
    assert.equal(nodeTest.length, 2, 'the doc has two whole node:test examples');
    const files = Object.fromEntries(nodeTest.map((code, i) => [`example${i}.test.mjs`, code]));
    const names = Object.keys(files);
    const dir = scratch(t, files);
    // Not as a child of this runner: a nested run would report to it instead of printing.
    const env = { NODE_TEST_CONTEXT: undefined };
    const result = await run(process.execPath, ['--test', ...names], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /# pass 2\n/);
  });

  it('its Vitest example passes under Vitest', async (t) => {
    const { vitest } = examples();
    assert.equal(vitest.length, 1, 'the doc has one whole Vitest example');
    const dir = scratch(t, { 'example.spec.mjs': vitest[0] ?? '' });
    // vitest and express resolve from the repo's node_modules; --no-cache writes nothing there.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'junction');
    const result = await run(
      process.execPath,
      [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--no-cache', '--reporter=json'],
      { cwd: dir, env: { NODE_TEST_CONTEXT: undefined }, timeoutMs: 60_000 },
    );
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    const report = JSON.parse(result.stdout) as {
      numPassedTests: number;
      numTotalTests: number;
      testResults: { name: string }[];
    };
    assert.deepEqual(
      report.testResults.map((file) => file.name),
      [join(dir, 'example.spec.mjs')],
    );
    assert.deepEqual([report.numPassedTests, report.numTotalTests], [2, 2]);
  });
});
