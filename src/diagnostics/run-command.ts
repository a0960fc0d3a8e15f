/** Runs a system tool for a diagnosis, never throwing: a missing tool is a fact, not an error. */
import { execFile } from 'node:child_process';

/** What a command printed, or why it printed nothing. */
export type CommandResult =
  | { readonly ok: true; readonly stdout: string }
  | { readonly ok: false; readonly missing: boolean; readonly error: string };

/** Runs `command args` with a time limit; resolves with its output or the failure. */
export function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs = 3000,
): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (!error) return resolve({ ok: true, stdout });
        const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
        resolve({
          ok: false,
          missing,
          error: (stderr.trim() || error.message).split('\n')[0] ?? '',
        });
      },
    );
  });
}
