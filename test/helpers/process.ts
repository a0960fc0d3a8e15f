/** Child processes for the lab: run to completion, or start and wait for a line of output. */
import { type ChildProcess, spawn } from 'node:child_process';

/** What a finished command left behind. */
export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Options for a command that runs to completion. */
export interface RunOptions {
  /** Killed after this long (default 20 s). */
  timeoutMs?: number;
  /** Written to its stdin, which is then closed. */
  input?: string;
  cwd?: string;
  /** Added to this process's environment. */
  env?: NodeJS.ProcessEnv;
}

/** Runs a command to completion. */
export function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const child = new LabProcess(command, args, options);
  if (options.input !== undefined) child.child.stdin?.end(options.input);
  else child.child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  return child.exited.then(({ status, signal }) => {
    clearTimeout(timer);
    return { status, signal, stdout: child.stdout, stderr: child.stderr };
  });
}

/** A started process whose output is collected as it comes. */
export class LabProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** stdout and stderr together, in the order they arrived. */
  output = '';
  /** Settles when the process has exited. */
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null }>;
  private readonly listeners = new Set<() => void>();
  private ended = false;

  constructor(
    command: string,
    args: string[],
    options: {
      cwd?: string;
      /** Added to this process's environment, or with `inheritEnv: false` the whole of it. */
      env?: NodeJS.ProcessEnv;
      inheritEnv?: boolean;
    } = {},
  ) {
    const inherited = options.inheritEnv === false ? {} : process.env;
    this.child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...inherited, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (text: string) => {
      this.stdout += text;
      this.output += text;
      for (const listener of this.listeners) listener();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      this.output += text;
      for (const listener of this.listeners) listener();
    });
    this.exited = new Promise((resolve) => {
      const finish = (status: number | null, signal: NodeJS.Signals | null) => {
        if (this.ended) return; // 'close' and the 'exit' fallback below may both come
        this.ended = true;
        for (const listener of this.listeners) listener();
        resolve({ status, signal });
      };
      this.child.on('close', finish);
      // 'close' waits for stdout and stderr to end, which never happens while an orphaned
      // grandchild holds them: give the output a moment after 'exit', then stop waiting.
      this.child.on('exit', (status, signal) => {
        setTimeout(() => {
          this.child.stdout?.destroy();
          this.child.stderr?.destroy();
          finish(status, signal);
        }, 1000).unref();
      });
      this.child.on('error', (error) => {
        // It never started (or cannot be signalled): nothing more will come.
        this.stderr += String(error);
        finish(null, null);
      });
    });
  }

  /** The process's PID. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Whether the process has exited (or failed to start). */
  get done(): boolean {
    return this.ended || this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /**
   * Resolves with the first match of `pattern` in `stream` (stdout by default). Rejects, quoting
   * the output so far, when the process exits first or `timeoutMs` passes.
   */
  waitFor(
    pattern: RegExp,
    timeoutMs = 10_000,
    stream: 'stdout' | 'stderr' | 'output' = 'stdout',
  ): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this[stream].match(pattern);
        if (match) finish(() => resolve(match));
        else if (this.done) {
          finish(() => reject(this.failure(`exited before printing ${pattern} on ${stream}`)));
        }
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(this.failure(`did not print ${pattern} on ${stream} in ${timeoutMs} ms`)),
          ),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.listeners.delete(check);
        settle();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Sends `signal` and resolves with how the process ended; SIGKILL after `timeoutMs`. */
  async stop(
    signal: NodeJS.Signals = 'SIGTERM',
    timeoutMs = 5000,
  ): Promise<{ status: number | null; signal: NodeJS.Signals | null }> {
    this.kill(signal);
    const timer = setTimeout(() => this.kill('SIGKILL'), timeoutMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  /** Sends `signal` if the process still runs. */
  kill(signal: NodeJS.Signals): void {
    if (!this.done) this.child.kill(signal);
  }

  private failure(what: string): Error {
    return new Error(
      `${this.child.spawnargs.join(' ')} ${what}\n--- stdout\n${this.stdout}--- stderr\n${this.stderr}`,
    );
  }
}
