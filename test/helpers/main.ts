/** Runs the CLI's `main()` in this process, with its output collected instead of printed. */
import { Writable } from 'node:stream';
import type { CliIo } from '../../src/cli/io.js';
import { main } from '../../src/cli/main.js';

/** What an in-process CLI run left behind. */
export interface MainRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** How the in-process CLI sees its streams and signals. */
export interface MainIoOptions {
  /** Sets `isTTY` on stdout and stderr (left unset when omitted). */
  isTTY?: boolean;
  /** The io's `onSignal`; by default no signal ever comes. */
  onSignal?: CliIo['onSignal'];
}

/** Runs `main(args)` with environment `env`, collecting stdout and stderr. */
export async function runMain(
  args: string[],
  env: NodeJS.ProcessEnv,
  { isTTY, onSignal = () => () => {} }: MainIoOptions = {},
): Promise<MainRun> {
  let stdout = '';
  let stderr = '';
  const stream = (write: (text: string) => void) =>
    Object.assign(
      new Writable({
        write(chunk, _encoding, done) {
          write(String(chunk));
          done();
        },
      }),
      isTTY === undefined ? {} : { isTTY },
    );
  const io: CliIo = {
    stdout: stream((text) => {
      stdout += text;
    }),
    stderr: stream((text) => {
      stderr += text;
    }),
    env,
    onSignal,
  };
  const code = await main(args, io);
  return { code, stdout, stderr };
}
