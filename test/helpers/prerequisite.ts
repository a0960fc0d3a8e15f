import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';

/** Whether a missing prerequisite must fail the test (CI) rather than skip it (a laptop). */
export const STRICT = process.env.BECKON_STRICT_TESTS === '1';

/** Debian's Python, which the interop peers are written for. */
export const PYTHON = process.env.BECKON_PYTHON ?? '/usr/bin/python3';

/** Skips the test when `ok` is false, except under BECKON_STRICT_TESTS=1, where it fails. */
export function requirePrerequisite(t: TestContext, ok: boolean, what: string): boolean {
  if (ok) return true;
  if (STRICT) throw new Error(`${what} is required when BECKON_STRICT_TESTS=1`);
  t.skip(`${what} is missing`);
  return false;
}

/** True when the Python interpreter the peers need exists. */
export const hasPython = (): boolean => existsSync(PYTHON);
