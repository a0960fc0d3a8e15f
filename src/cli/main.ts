import { readFileSync } from 'node:fs';
import { isBeckonError } from '../errors.js';
import { closestMatch } from '../suggest.js';
import { type CliIo, println, processIo, UsageError } from './io.js';
import { withDocsPath } from './package-files.js';

const help = `beckon: find your servers on the local network, with zero configuration.

Usage:
  beckon serve [options]      answer discovery requests (a standalone responder)
  beckon discover [options]   find responders on every network interface
  beckon watch [options]      watch servers come and go, live (announcements, leases, goodbyes)
  beckon doctor [options]     explain why discovery finds nothing here, and how to fix it
  beckon keygen               print a new key for --secret-key or --auth-key
  beckon help [command]       show help
  beckon --version            show the version (also -v or -V); after a command, -v is --verbose

Run "beckon <command> --help" for a command's options.`;

/** What every module in ./commands exports. */
interface Command {
  run: (args: string[], io: CliIo) => Promise<number>;
  help: string;
}

// Each command's module is loaded only when it runs: start-up is most of a CLI discovery's time.
const commands: Record<string, () => Promise<Command>> = {
  serve: () => import('./commands/serve.js'),
  discover: () => import('./commands/discover.js'),
  watch: () => import('./commands/watch.js'),
  doctor: () => import('./commands/doctor.js'),
  keygen: () => import('./commands/keygen.js'),
};

/**
 * Runs the CLI and resolves with the exit code: 0 success, 1 nothing found or a failure,
 * 2 a usage error. The only place that turns errors into exit codes.
 */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
      const load = name === 'help' && rest[0] ? commands[rest[0]] : undefined;
      println(io.stdout, withDocsPath((await load?.())?.help ?? help));
      return 0;
    }
    if (name === '--version' || name === '-v' || name === '-V') {
      // `beckon -v discover` is surely a --verbose put on the wrong side of the command.
      if (rest.length > 0) {
        const [command = ''] = rest;
        throw new UsageError(
          `"${name}" before a command means --version and takes nothing after it; for --verbose, put -v after the command: beckon ${Object.hasOwn(commands, command) ? command : '<command>'} -v`,
        );
      }
      println(io.stdout, version());
      return 0;
    }
    const load = Object.hasOwn(commands, name) ? commands[name] : undefined;
    if (!load) throw new UsageError(unknownCommand(name));
    return await (await load()).run(rest, io);
  } catch (error) {
    if (
      error instanceof UsageError ||
      isParseArgsError(error) ||
      isBeckonError(error, 'BECKON_ERR_INVALID_OPTION')
    ) {
      println(io.stderr, `beckon: ${(error as Error).message}`);
      const command = name !== undefined && Object.hasOwn(commands, name) ? ` ${name}` : '';
      println(io.stderr, `Run "beckon${command} --help" for usage.`);
      return 2;
    }
    println(io.stderr, `beckon: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

/** "Unknown command ..." with the closest command or top-level flag, if one is close. */
function unknownCommand(name: string): string {
  const words = name.startsWith('-') ? ['help', 'version'] : [...Object.keys(commands), 'help'];
  const guess = closestMatch(name.replace(/^-+/, ''), words);
  const shown = guess && name.startsWith('-') ? `--${guess}` : guess;
  return `Unknown ${name.startsWith('-') ? 'option' : 'command'} "${name}".${shown ? ` Did you mean "${shown}"?` : ''}`;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

function version(): string {
  const url = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
}
