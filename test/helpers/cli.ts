/** Runs the built `beckon` CLI as a user would, with a clean discovery environment. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';

/** The CLI's entry point. */
export const BIN = new URL('../../bin/beckon.js', import.meta.url).pathname;

/** What a finished CLI run left behind. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
}

/** Runs `beckon ...args` with only PATH and `env` set; killed after `timeoutMs`. */
export async function beckon(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const [code] = await once(child, 'close');
  clearTimeout(timer);
  return { code, stdout, stderr, ms: performance.now() - started };
}
