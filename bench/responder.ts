// npm run bench: replies/s and CPU per reply of our responder against a Python listener shaped
// like the original django-udp-discovery server and a C recvmmsg/sendmmsg responder (the
// practical ceiling), driven by the same C load generator, in the same run. Needs gcc.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROUNDS = 3;
const LOAD_MS = 2000;
const READY_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 5_000;

const here = import.meta.dirname;
const root = join(here, '..');
// Debian's Python, as in the tests; BECKON_PYTHON picks another.
const python =
  process.env.BECKON_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
const tsx = [process.execPath, '--import', 'tsx'] as const;

/** Compiles bench/c/<name>.c into bench/.build/<name> (once per run) and returns its path. */
function compile(name: string): string {
  const output = join(here, '.build', name);
  mkdirSync(join(here, '.build'), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-o', output, join(here, 'c', `${name}.c`)], {
    stdio: 'inherit',
  });
  return output;
}

const loadGenerator = compile('load');

interface Implementation {
  name: 'python' | 'beckon' | 'c';
  command: readonly [string, ...string[]];
}

const implementations: readonly Implementation[] = [
  {
    name: 'python',
    command: [
      python,
      // Bound to loopback; it replies with this machine's default-route address, as the
      // original does, but only ever to the load generator on loopback.
      join(here, '../test/peers/original_server.py'),
      ...['--port', '0', '--bind', '127.0.0.1', '--quiet'],
    ],
  },
  { name: 'beckon', command: [...tsx, join(here, 'responder-child.ts')] },
  { name: 'c', command: [compile('responder'), '0'] },
];

interface LoadResult {
  replies: number;
  seconds: number;
  rate: number;
  total: number;
  loadCpu: number;
}

interface Sample {
  rate: number;
  cpuMsPer1k: number;
  loadCpu: number;
}

const children = new Set<ChildProcess>();

function start(command: readonly [string, ...string[]]): ChildProcess {
  const [file, ...args] = command;
  const child = spawn(file, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function killAll(): void {
  for (const child of children) {
    if (child.pid !== undefined) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function exited(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`pid ${child.pid} did not exit`)), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Resolves with the first stdout line matching `pattern`; rejects on exit or timeout. */
function firstLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<string> {
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

const clockTicks = (() => {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU time of a process, in ms, from /proc/<pid>/stat. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks;
}

async function measure(implementation: Implementation): Promise<Sample> {
  const server = start(implementation.command);
  try {
    const ready = await firstLine(server, /(?:^ready|started on port) \d+$/, READY_TIMEOUT_MS);
    const port = ready.slice(ready.lastIndexOf(' ') + 1);
    const pid = server.pid;
    if (pid === undefined) throw new Error('server has no pid');

    const cpuBefore = cpuMs(pid);
    const load = start([loadGenerator, port, String(LOAD_MS), '16', '32']);
    const line = await firstLine(load, /^\{/, LOAD_MS + READY_TIMEOUT_MS);
    const cpuAfter = cpuMs(pid);
    await exited(load, EXIT_TIMEOUT_MS);

    const result = JSON.parse(line) as LoadResult;
    if (result.total === 0) throw new Error(`${implementation.name} sent no replies`);
    const cpuMsPer1k = ((cpuAfter - cpuBefore) * 1000) / result.total;
    return { rate: result.rate, cpuMsPer1k, loadCpu: result.loadCpu };
  } finally {
    server.kill('SIGTERM');
    await exited(server, EXIT_TIMEOUT_MS).catch(() => server.kill('SIGKILL'));
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const high = sorted[middle] ?? Number.NaN;
  return sorted.length % 2 === 1 ? high : (high + (sorted[middle - 1] ?? Number.NaN)) / 2;
}

process.once('SIGINT', () => {
  killAll();
  process.exit(130);
});
process.once('exit', killAll);

try {
  const samples = new Map<Implementation['name'], Sample[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const implementation of implementations) {
      const sample = await measure(implementation);
      const list = samples.get(implementation.name) ?? [];
      list.push(sample);
      samples.set(implementation.name, list);
      console.log(
        `round ${round} ${implementation.name.padEnd(6)} ${Math.round(sample.rate).toString().padStart(8)} replies/s  ${sample.cpuMsPer1k.toFixed(2)} CPU ms/1k replies  (load generator ${sample.loadCpu.toFixed(2)} cores)`,
      );
    }
  }

  const summary = (name: Implementation['name']) => {
    const list = samples.get(name) ?? [];
    return {
      rate: median(list.map((s) => s.rate)),
      cpu: median(list.map((s) => s.cpuMsPer1k)),
    };
  };
  const py = summary('python');
  console.log();
  console.log(`median of ${ROUNDS} rounds, ${LOAD_MS} ms each, CLK_TCK ${clockTicks}`);
  console.log(
    'implementation   replies/s   CPU ms/1k replies   replies/s vs python   CPU/reply vs python',
  );
  for (const { name } of implementations) {
    const s = summary(name);
    console.log(
      `${name.padEnd(14)} ${Math.round(s.rate).toString().padStart(11)} ${s.cpu.toFixed(2).padStart(19)} ${`${(s.rate / py.rate).toFixed(2)}x`.padStart(21)} ${`${(s.cpu / py.cpu).toFixed(2)}x`.padStart(21)}`,
    );
  }
} catch (error) {
  console.error(error);
  process.exitCode = 1;
} finally {
  killAll();
}
