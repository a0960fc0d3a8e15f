/**
 * Whether a process runs beckon's CLI, told by what its command line runs rather than by how
 * the folders on the way are named: a clone in a folder called `beckon` also holds the Python
 * peers, and `python3 .../beckon/test/peers/original_server.py` is not a beckon responder.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

/** The package name whose `bin` entry counts as beckon's CLI. */
const PACKAGE_NAME = 'beckon';
/** Arguments looked at: the interpreter's options and the script come first. */
const MAX_ARGUMENTS = 8;

/**
 * Whether `argv` (a process's arguments, `argv[0]` the program) runs beckon's CLI: one of its
 * first arguments is, by real path (symlinks such as `/usr/bin/beckon` or `node_modules/.bin`
 * followed, relative paths resolved against `cwd`, or skipped when it is unknown), the `bin` entry of an installed package
 * named `beckon`. A script merely inside a folder or a package named `beckon` does not count.
 * Reads package.json files; never throws.
 */
export function runsBeckonCli(argv: readonly string[], cwd: string | undefined): boolean {
  return argv
    .slice(0, MAX_ARGUMENTS)
    .some((arg) => arg !== '' && !arg.startsWith('-') && isBeckonBin(resolveArg(arg, cwd)));
}

function resolveArg(arg: string, cwd: string | undefined): string | undefined {
  if (!isAbsolute(arg) && cwd === undefined) return undefined;
  try {
    return realpathSync(isAbsolute(arg) ? arg : resolve(cwd ?? '/', arg));
  } catch {
    return undefined; // not a path, or gone
  }
}

/** Whether `file` (a real path) is the `bin` entry of the nearest package.json above it. */
function isBeckonBin(file: string | undefined): boolean {
  if (file === undefined) return false;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const manifest = readManifest(join(dir, 'package.json'));
    if (manifest !== undefined) {
      if (manifest.name !== PACKAGE_NAME) return false;
      const { bin } = manifest;
      const bins = typeof bin === 'string' ? [bin] : Object.values(bin ?? {});
      return bins.some((bin) => typeof bin === 'string' && resolveArg(bin, dir) === file);
    }
    if (dirname(dir) === dir) return false;
  }
}

function readManifest(path: string): { name?: unknown; bin?: unknown } | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as { name?: unknown }) : {};
  } catch (error) {
    // A package.json that exists but is unreadable still ends the walk: it is the package.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : {};
  }
}
