/** Child processes for the benchmarks: start, wait for a line, measure CPU, always clean up. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** The repository root; children run from it. */
export const ROOT = join(import.meta.dirname, '..', '..');
/** `node --import tsx`, to run the TypeScript sources directly. */
export const TSX = [process.execPath, '--import', 'tsx'] as const;

const children = new Set<ChildProcess>();

/** How {@link start} runs a child: its environment, and whether its stderr is shown. */
export interface StartOptions {
  /** The child's environment; this process's by default. */
  readonly env?: NodeJS.ProcessEnv;
  /** `inherit` (default): its stderr goes to ours; `ignore`: dropped. */
  readonly stderr?: 'inherit' | 'ignore';
}

/** Starts a child with piped stdout; it is killed when this process exits. */
export function start(
  command: readonly [string, ...string[]],
  options: StartOptions = {},
): ChildProcess {
  const [file, ...args] = command;
  const child = spawn(file, args, {
    cwd: ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGKILLs every child still running (ours only, by PID). */
export function killAll(): void {
  for (const child of children) {
    if (child.pid === undefined) continue;
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.once('exit', killAll);
process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});

/** Resolves with the exit code once `child` has exited; rejects after `timeoutMs`. */
export function exited(child: ChildProcess, timeoutMs = 5000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** SIGTERM, then SIGKILL if it is still there after `timeoutMs`. */
export async function stop(child: ChildProcess, timeoutMs = 5000): Promise<void> {
  child.kill('SIGTERM');
  await exited(child, timeoutMs).catch(() => child.kill('SIGKILL'));
}

/** Resolves with the first stdout line matching `pattern`; rejects on exit or timeout. */
export function firstLine(
  child: ChildProcess,
  pattern: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  const stdout = child.stdout;
  if (stdout === null) throw new Error('child has no stdout');
  const lines = createInterface({ input: stdout });
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      lines.close();
      reject(new Error(`pid ${child.pid} (${child.spawnfile}): ${why}`));
    };
    const timer = setTimeout(
      () => fail(`no output matching ${pattern} in ${timeoutMs} ms`),
      timeoutMs,
    );
    child.once('close', (code, signal) => fail(`exited (${code ?? signal}) before output`));
    child.once('error', (error) => fail(error.message));
    lines.on('line', (line) => {
      if (!pattern.test(line)) return;
      clearTimeout(timer);
      resolve(line);
    });
  });
}

/**
 * Starts a server and waits for its ready line (`pattern`); returns it with its pid and the
 * line's words. A server that never gets ready is stopped before the error is thrown.
 */
export async function startReady(command: readonly [string, ...string[]], pattern: RegExp) {
  const child = start(command);
  try {
    const words = (await firstLine(child, pattern)).split(' ');
    if (child.pid === undefined) throw new Error(`${command[0]} has no pid`);
    return { child, pid: child.pid, words };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

const clockTicks = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/**
 * User + system CPU time of a process, in ms, from /proc/<pid>/stat; with `thread`, of that
 * thread only (its main thread's id is the pid).
 */
export function cpuMs(pid: number, thread?: number): number {
  const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`;
  const stat = readFileSync(path, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

/**
 * CPU time of a process, in ms with nanosecond resolution: the sum over its threads of the time
 * the scheduler ran them (`/proc/<pid>/task/<tid>/schedstat`). Finer than {@link cpuMs}, whose
 * clock ticks are 10 ms: for short, bounded measurements. A thread that exits meanwhile takes its
 * time with it.
 */
export function cpuPreciseMs(pid: number): number {
  let ns = 0;
  for (const thread of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${thread}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread exited between the listing and the read
    }
  }
  return ns / 1e6;
}

/** Resident memory of a process, in KiB, from /proc/<pid>/status. */
export function rssKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? Number.NaN);
}

/** The median; NaN for no values. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const high = sorted[middle] ?? Number.NaN;
  return sorted.length % 2 === 1 ? high : (high + (sorted[middle - 1] ?? Number.NaN)) / 2;
}

/** The `p`th percentile (nearest rank, 0 to 100); NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

/** Formats a ratio as `1.23x`. */
export const ratio = (value: number, reference: number): string =>
  `${(value / reference).toFixed(2)}x`;

/** Prints rows as a Markdown table (the same text goes into docs/performance.md). */
export function printTable(header: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  console.log(line(header));
  console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
  for (const row of rows) console.log(line(row));
}
