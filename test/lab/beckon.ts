/** beckon inside lab hosts: the CLI's `serve` and `discover`, and the library's discovery. */
import type { Server } from '../../src/index.js';
import type { LabHost } from './lab.js';
import type { LabProcess, RunResult } from './process.js';

/** Starts `beckon serve` in `host` and resolves once it listens. */
export async function serve(host: LabHost, ...args: string[]): Promise<LabProcess> {
  const server = host.beckon('serve', ...args);
  await server.waitFor(/\[OK\] Listening on/);
  return server;
}

/** Runs `beckon discover --json` in `host`: the exit status and the servers it printed. */
export async function discoverCli(
  host: LabHost,
  ...args: string[]
): Promise<{ status: number | null; servers: Server[]; run: RunResult }> {
  const run = await host.beckonRun(['discover', '--json', ...args]);
  const servers = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Server);
  return { status: run.status, servers, run };
}

/** Runs the library's `discover(options)` in `host` and returns what it resolved with. */
export async function discoverLib(host: LabHost, options: object = {}): Promise<Server[]> {
  const run = await host.script('test/lab/drivers/discover.ts', [JSON.stringify(options)]);
  if (run.status !== 0) throw new Error(`discover driver failed:\n${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout) as Server[];
}

/** Runs `discoverOne(options)` `count` times in a row in `host`. */
export async function discoverRepeatedly(
  host: LabHost,
  options: object,
  count: number,
): Promise<{ found: number; missed: number; servers: string[] }> {
  const run = await host.script(
    'test/lab/drivers/discover.ts',
    [JSON.stringify(options), String(count)],
    { timeoutMs: 120_000 },
  );
  if (run.status !== 0) throw new Error(`discover driver failed:\n${run.stdout}${run.stderr}`);
  return JSON.parse(run.stdout);
}

/** The servers as `ip:port@interface` strings, sorted, for compact assertions. */
export function summary(servers: Server[]): string[] {
  return servers.map((s) => `${s.ip}:${s.port}@${s.interface ?? '-'}`).sort();
}
