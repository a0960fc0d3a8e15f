/**
 * Discovery inside lab hosts: beckon's CLI (`serve`, `discover`) and library, and the peers that
 * behave like the original Python server and client.
 */
import type { DoctorReport, Server } from '../../src/index.js';
import { PYTHON } from '../helpers/prerequisite.js';
import type { LabProcess, RunResult } from '../helpers/process.js';
import { type LabHost, ROOT } from './lab.js';

/** Starts `beckon serve` in `host` and resolves once it listens. */
export function serve(host: LabHost, ...args: string[]): Promise<LabProcess> {
  return serveWithEnv(host, {}, ...args);
}

/**
 * Starts `beckon serve` in `host` with `env` added to its environment (how keys are best
 * passed: command lines are visible to every user of a host), and resolves once it listens.
 */
export async function serveWithEnv(
  host: LabHost,
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<LabProcess> {
  const server = host.spawn(process.execPath, [`${ROOT}bin/beckon.js`, 'serve', ...args], { env });
  await server.waitFor(/\[OK\] Listening on/);
  return server;
}

/** Runs `beckon discover --json` in `host`: the exit status and the servers it printed. */
export function discoverCli(
  host: LabHost,
  ...args: string[]
): Promise<{ status: number | null; servers: Server[]; run: RunResult }> {
  return discoverCliWithEnv(host, {}, ...args);
}

/** {@link discoverCli} with `env` added to the CLI's environment. */
export async function discoverCliWithEnv(
  host: LabHost,
  env: NodeJS.ProcessEnv,
  ...args: string[]
): Promise<{ status: number | null; servers: Server[]; run: RunResult }> {
  const run = await host.beckonRun(['discover', '--json', ...args], { env });
  const servers = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Server);
  return { status: run.status, servers, run };
}

/** Runs test/lab/drivers/discover.ts in `host` and parses the JSON it prints. */
async function runDiscoverDriver<T>(host: LabHost, args: string[], timeoutMs?: number): Promise<T> {
  const run = await host.script(
    'test/lab/drivers/discover.ts',
    args,
    timeoutMs ? { timeoutMs } : {},
  );
  if (run.status !== 0) throw new Error(`discover driver failed:\n${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Runs the library's `discover(options)` in `host` and returns what it resolved with. */
export function discoverLib(host: LabHost, options: object = {}): Promise<Server[]> {
  return runDiscoverDriver(host, [JSON.stringify(options)]);
}

/** Runs `discoverOne(options)` `count` times in `host`, `parallel` at a time. */
export function discoverRepeatedly(
  host: LabHost,
  options: object,
  count: number,
  parallel = 1,
): Promise<{ found: number; missed: number; servers: string[] }> {
  return runDiscoverDriver(
    host,
    [JSON.stringify(options), String(count), String(parallel)],
    100_000,
  );
}

/** The servers as `ip:port@interface` strings, sorted, for compact assertions. */
export function summary(servers: Server[]): string[] {
  return servers.map((s) => `${s.ip}:${s.port}@${s.interface ?? '-'}`).sort();
}

/** Starts the peer that behaves like the original Python server in `host`. */
export function originalServer(host: LabHost, ...args: string[]): Promise<LabProcess> {
  return originalServerAt(host, `${ROOT}test/peers/original_server.py`, ...args);
}

/** {@link originalServer} run from `script`, a copy of test/peers/original_server.py. */
export async function originalServerAt(
  host: LabHost,
  script: string,
  ...args: string[]
): Promise<LabProcess> {
  const server = host.spawn(PYTHON, [script, ...args]);
  await server.waitFor(/UDP Discovery listener started on port \d+/);
  return server;
}

/** Runs the peer that behaves like the original Python client in `host`. */
export async function originalDiscover(
  host: LabHost,
  ...args: string[]
): Promise<{ ip: string; port: number; source: string }[]> {
  const run = await host.run(PYTHON, [`${ROOT}test/peers/original_client.py`, 'discover', ...args]);
  if (run.status !== 0) throw new Error(`original client failed:\n${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** Runs `beckon doctor --json` in `host`: the exit status and the report it printed. */
export async function doctorJson(
  host: LabHost,
  ...args: string[]
): Promise<{ status: number | null; report: DoctorReport; run: RunResult }> {
  const run = await host.beckonRun(['doctor', '--json', ...args]);
  try {
    return { status: run.status, report: JSON.parse(run.stdout) as DoctorReport, run };
  } catch {
    throw new Error(`doctor printed no JSON (status ${run.status}):\n${run.stdout}${run.stderr}`);
  }
}
