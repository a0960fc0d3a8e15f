/**
 * Runs the built `beckon` CLI as a user would, with a clean discovery environment (only PATH and
 * what the test sets): to completion, or started and left running (`beckon serve`, an interrupted
 * `beckon discover`).
 */
import { existsSync } from 'node:fs';
import { LabProcess } from './process.js';

/** The CLI's entry point. */
export const BIN = new URL('../../bin/beckon.js', import.meta.url).pathname;

/** What BIN loads: `npm run build` makes it. */
const BUNDLE = new URL('../../dist/cli-bundle/main.js', import.meta.url);

/** What a finished CLI run left behind. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
}

/**
 * Starts `beckon ...args` with only PATH and `env` set, collecting its output as it comes. It is
 * killed (SIGKILL) after `lifetimeMs` whatever happens to the test; stop it sooner with `stop()`.
 * Throws at once when the CLI has not been built.
 */
export function startBeckon(
  args: string[],
  env: Record<string, string> = {},
  lifetimeMs = 120_000,
): LabProcess {
  if (!existsSync(BUNDLE)) throw new Error('run "npm run build" first');
  const cli = new LabProcess(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    inheritEnv: false,
  });
  const killer = setTimeout(() => cli.kill('SIGKILL'), lifetimeMs);
  void cli.exited.then(() => clearTimeout(killer));
  return cli;
}

/** Runs `beckon ...args` with only PATH and `env` set; killed after `timeoutMs`. */
export async function beckon(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<CliRun> {
  const started = performance.now();
  const cli = startBeckon(args, env, timeoutMs);
  const { status } = await cli.exited;
  return { code: status, stdout: cli.stdout, stderr: cli.stderr, ms: performance.now() - started };
}

/** A running `beckon serve` and the UDP port it listens on. */
export type ServeProcess = LabProcess & { readonly port: number };

/**
 * Starts `beckon serve --no-groups ...args` with only PATH and `env` set, and resolves once it prints
 * "Listening on <ip>:<port>", with that port. Its output stays readable (`stdout`, `stderr`,
 * `output`); `stop(signal)` signals its PID and resolves with how it exited (SIGKILL after a
 * grace period). Call `stop()` in a `finally` or an `after` hook. If it does not start within
 * `listenTimeoutMs`, it is killed and the promise rejects with its output.
 */
export async function beckonServe(
  args: string[],
  env: Record<string, string> = {},
  listenTimeoutMs = 20_000,
): Promise<ServeProcess> {
  // --no-groups: a join makes the kernel send IGMP/MLD reports out of the host's interfaces.
  const cli = startBeckon(['serve', '--no-groups', ...args], env);
  try {
    const [, port] = await cli.waitFor(/Listening on [\d.]+:(\d+)/, listenTimeoutMs);
    return Object.assign(cli, { port: Number(port) });
  } catch (error) {
    await cli.stop('SIGKILL');
    throw error;
  }
}
