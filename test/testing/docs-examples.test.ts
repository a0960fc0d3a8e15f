/**
 * The node:test examples of docs/testing-your-app.md run as written (against dist/, built before
 * the tests), in a child process: the doc stays true.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from '../helpers/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HEADER = "import assert from 'node:assert/strict';\nimport { test } from 'node:test';\n";

/** The doc's `js` blocks that are whole tests, with beckon's imports pointed at dist/. */
function examples(): string[] {
  const doc = readFileSync(join(ROOT, 'docs/testing-your-app.md'), 'utf8');
  const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map(([, code = '']) => code);
  const dist = (path: string) => pathToFileURL(join(ROOT, 'dist', path)).href;
  return blocks
    .filter((code) => code.includes('test('))
    .map((code) =>
      (code.includes("from 'node:test'") ? code : HEADER + code)
        .replaceAll("from 'beckon/testing'", `from '${dist('testing/index.js')}'`)
        .replaceAll("from 'beckon'", `from '${dist('index.js')}'`),
    );
}

describe('docs/testing-your-app.md', () => {
  it('its node:test examples pass', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'beckon-testing-doc-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const files = examples().map((code, i) => {
      const file = join(dir, `example${i}.test.mjs`);
      writeFileSync(file, code);
      return file;
    });
    assert.equal(files.length, 2, 'the doc has two whole node:test examples');
    // Not as a child of this runner: a nested run would report to it instead of printing.
    const env = { NODE_TEST_CONTEXT: undefined };
    const result = await run(process.execPath, ['--test', ...files], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    });
    assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /# pass 2\n/);
  });
});
