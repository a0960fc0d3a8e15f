import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { run } from './process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MISSING = new Set(['nft', 'socat']);

/**
 * A PATH like this machine's without nft and socat: one folder of symlinks to every command on
 * the PATH except those two, as on a laptop that has not installed them.
 */
let bare: string;
before(() => {
  bare = mkdtempSync(join(tmpdir(), 'beckon-path-'));
  const seen = new Set<string>();
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (MISSING.has(name) || seen.has(name)) continue;
      seen.add(name);
      symlinkSync(join(dir, name), join(bare, name));
    }
  }
});
after(() => rmSync(bare, { recursive: true, force: true }));

/** Runs the doctor lab tests that need socat and nft, without them on the PATH. */
function doctorWithoutTools(strict: boolean) {
  return run(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=tap',
      '--test-name-pattern=names the process holding|finds the nftables rule',
      'test/lab/scenarios/doctor.test.ts',
    ],
    {
      cwd: ROOT,
      // NODE_TEST_CONTEXT would make the inner runner report to this one instead of stdout.
      env: { PATH: bare, BECKON_STRICT_TESTS: strict ? '1' : '', NODE_TEST_CONTEXT: undefined },
      timeoutMs: 100_000,
    },
  );
}

describe('a missing tool (nft, socat)', () => {
  it('skips the doctor lab tests that need it, with the reason', async () => {
    const result = await doctorWithoutTools(false);
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(
      result.stdout,
      /^ok \d+ - doctor: names the process holding .* # SKIP socat is missing$/m,
    );
    assert.match(
      result.stdout,
      /^ok \d+ - doctor: finds the nftables rule .* # SKIP nftables \(nft\) is missing$/m,
    );
    assert.match(result.stdout, /^# fail 0$/m);
  });

  it('fails them under BECKON_STRICT_TESTS=1, naming the tool', async () => {
    const result = await doctorWithoutTools(true);
    assert.notEqual(result.status, 0);
    assert.match(result.stdout, /^not ok \d+ - doctor: names the process holding /m);
    assert.match(result.stdout, /^not ok \d+ - doctor: finds the nftables rule /m);
    assert.match(result.stdout, /socat is required when BECKON_STRICT_TESTS=1/);
    assert.match(result.stdout, /nftables \(nft\) is required when BECKON_STRICT_TESTS=1/);
    assert.match(result.stdout, /^# fail 2$/m);
  });
});
