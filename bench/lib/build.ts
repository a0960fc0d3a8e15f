/** Builds the C programs of bench/c with gcc, into bench/.build (ignored by git). */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const bench = join(import.meta.dirname, '..');

/** Compiles bench/c/<name>.c into bench/.build/<name> and returns its path. */
export function compile(name: string): string {
  const output = join(bench, '.build', name);
  mkdirSync(join(bench, '.build'), { recursive: true });
  execFileSync('gcc', ['-O2', '-Wall', '-o', output, join(bench, 'c', `${name}.c`)], {
    stdio: 'inherit',
  });
  return output;
}
