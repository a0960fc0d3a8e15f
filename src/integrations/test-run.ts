/** Test-run detection, so that a test suite does not open the discovery port by accident. */
import { basename } from 'node:path';
import type { Env } from '../options.js';

const RUNNERS = /^(mocha|_mocha|jest|vitest|ava|tap|jasmine)(\.[cm]?js)?$/;

/**
 * Why this process looks like a test run, or undefined when it does not: `NODE_ENV=test`, a
 * Vitest or Jest worker, `node --test` (or a process it started), a tap child, or a known runner
 * as the script. The integrations stay off in a test run unless `enabled: true` is passed.
 */
export function detectTestRun(
  env: Env = process.env,
  execArgv: readonly string[] = process.execArgv,
  argv: readonly string[] = process.argv,
): string | undefined {
  if (env.NODE_ENV === 'test') return 'NODE_ENV=test';
  if (env.VITEST) return 'Vitest (VITEST is set)';
  if (env.JEST_WORKER_ID) return 'Jest (JEST_WORKER_ID is set)';
  if (env.NODE_TEST_CONTEXT) return 'node --test (NODE_TEST_CONTEXT is set)';
  if (env.TAP || env.TAP_CHILD_ID) return 'tap (TAP is set)';
  if (execArgv.some((arg) => arg === '--test' || arg.startsWith('--test='))) return 'node --test';
  const script = argv[1] === undefined ? undefined : basename(argv[1]);
  if (script && RUNNERS.test(script)) return `the ${script} test runner`;
  return undefined;
}
