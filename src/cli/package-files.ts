/**
 * Where the installed package's own files are, so help texts can turn "see docs/security.md" into
 * a path the user can open. This module sits two folders below the package root wherever it runs
 * from: src/cli (tests), dist/cli, or dist/cli-bundle (the bin).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root as a path without a trailing separator, e.g. `/app/node_modules/beckon`. */
function packageRoot(): string {
  return resolve(fileURLToPath(new URL('../..', import.meta.url)));
}

/**
 * `text` followed by a line saying where README.md and docs/ are, so the relative `docs/...`
 * names in help texts resolve for an npm user. Without a docs folder (a trimmed install), `text`.
 */
export function withDocsPath(text: string, root = packageRoot()): string {
  if (!existsSync(join(root, 'docs'))) return text;
  return `${text}\n\nDocs: README.md and docs/*.md in ${root}`;
}
