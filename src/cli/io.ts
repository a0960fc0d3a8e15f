import { constants } from 'node:os';
import type { Logger } from '../logger.js';

/** What a CLI command may touch: its streams, environment and signals. Injected for tests. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  /** Calls `handler` on SIGINT/SIGTERM; returns a function that removes it. */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
}

/** A bad command line: exit code 2, with the message and a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const processIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  onSignal(handler) {
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  },
};

/** Writes a line. */
export function println(stream: NodeJS.WritableStream, line = ''): void {
  stream.write(`${line}\n`);
}

/**
 * The exit code a shell expects from a command stopped by `signal`: 128 + its number
 * (130 for SIGINT, 143 for SIGTERM).
 */
export function signalExitCode(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 0);
}

/**
 * The CLI's logger: warnings and errors on stderr always, info and debug lines only when
 * `verbose` (-v, --verbose).
 */
export function cliLogger(stderr: NodeJS.WritableStream, verbose = false): Logger {
  return {
    debug: (message) => verbose && println(stderr, `debug: ${message}`),
    info: (message) => verbose && println(stderr, message),
    warn: (message) => println(stderr, `warning: ${message}`),
    error: (message) => println(stderr, `error: ${message}`),
  };
}

/**
 * Shows `text` on stderr while something runs and returns the function that removes it. On a
 * terminal the line is erased when done; where the terminal cannot erase (TERM=dumb, e.g. an
 * editor's shell) it is a plain line that stays, with no escape sequences; when stderr is not a
 * terminal nothing is printed.
 */
export function showProgress(io: CliIo, text: string): () => void {
  if (io.stderr.isTTY !== true) return () => {};
  if (io.env.TERM === 'dumb') {
    println(io.stderr, text);
    return () => {};
  }
  io.stderr.write(text);
  // Carriage return, then "erase to the end of the line" (ANSI EL).
  return () => io.stderr.write('\r\x1b[K');
}

/** A progress line that can be rewritten: {@link progressLine}. */
export interface ProgressLine {
  /** Replaces the line (on a terminal that can erase; elsewhere nothing). */
  update(text: string): void;
  /** Replaces the line; where the terminal cannot erase (TERM=dumb), prints it as a new line. */
  note(text: string): void;
  /** Erases the line. */
  end(): void;
}

/**
 * Like {@link showProgress}, but the line can be rewritten in place as work goes on (a scan's
 * count). On a terminal each text replaces the last; with TERM=dumb, only the first text and
 * each {@link ProgressLine.note} are printed, as plain lines; not on a terminal, nothing.
 */
export function progressLine(io: CliIo, text: string): ProgressLine {
  if (io.stderr.isTTY !== true) return { update() {}, note() {}, end() {} };
  if (io.env.TERM === 'dumb') {
    println(io.stderr, text);
    return { update() {}, note: (line) => println(io.stderr, line), end() {} };
  }
  let shown = true;
  io.stderr.write(text);
  const update = (line: string) => {
    if (shown) io.stderr.write(`\r\x1b[K${line}`);
  };
  return {
    update,
    note: update,
    end() {
      if (shown) io.stderr.write('\r\x1b[K');
      shown = false;
    },
  };
}
