/**
 * What an npm user gets. A copy of this checkout without dist/ (as a fresh clone is) is packed
 * with `npm pack`; the tarball is installed into a new app, which imports it from ESM and
 * CommonJS, compiles against its types, and runs its CLI against a responder on loopback.
 * Everything happens in one temporary folder, removed at the end; npm runs offline.
 */
import assert from 'node:assert/strict';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createResponder, type Responder } from '../src/index.js';
import { type RunResult, run } from './helpers/process.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What a fresh clone does not have (see .gitignore), besides tarballs. */
const NOT_IN_A_CLONE = new Set(['.git', 'node_modules', 'dist', 'bench/.build']);

/** This process's environment without npm's, so a run under `npm test` does not leak into ours. */
const CLEAN_ENV = Object.fromEntries(
  Object.keys(process.env)
    .filter((name) => name.startsWith('npm_'))
    .map((name) => [name, undefined]),
);

function npm(args: string[], cwd: string, timeoutMs = 60_000): Promise<RunResult> {
  const [command = '', ...rest] = args;
  return run('npm', [command, '--no-audit', '--no-fund', '--no-update-notifier', ...rest], {
    cwd,
    env: CLEAN_ENV,
    timeoutMs,
  });
}

function node(args: string[], cwd: string): Promise<RunResult> {
  return run(process.execPath, args, { cwd, env: CLEAN_ENV, timeoutMs: 30_000 });
}

/** Fails with the command's output unless it exited 0. */
function ok(result: RunResult, what: string): RunResult {
  assert.equal(result.status, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe('the package as npm ships it', () => {
  const work = mkdtempSync(join(tmpdir(), 'beckon-package-'));
  const app = join(work, 'app');
  let files: string[] = [];
  let tarball = '';

  before(
    async () => {
      const clone = join(work, 'clone');
      cpSync(ROOT, clone, {
        recursive: true,
        filter: (path) =>
          !NOT_IN_A_CLONE.has(relative(ROOT, path).replaceAll('\\', '/')) && !path.endsWith('.tgz'),
      });
      symlinkSync(join(ROOT, 'node_modules'), join(clone, 'node_modules'), 'dir');
      // prepack builds: without it a clean clone packs README, package.json and bin/ only.
      const packed = ok(
        await npm(['pack', '--json', '--pack-destination', work], clone, 240_000),
        'npm pack',
      );
      const [entry] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('[\n'))) as {
        filename: string;
        files: { path: string }[];
      }[];
      assert.ok(entry);
      files = entry.files.map((file) => file.path);
      tarball = join(work, entry.filename);
    },
    { timeout: 300_000 },
  );

  after(() => rmSync(work, { recursive: true, force: true }));

  it('has the build, LICENSE, docs and examples, and no source maps', () => {
    for (const path of [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/integrations/http.js',
      'dist/cli-bundle/main.js',
      'bin/beckon.js',
      'LICENSE',
      'README.md',
      'docs/security.md',
      'docs/troubleshooting.md',
      'examples/express.js',
    ]) {
      assert.ok(files.includes(path), `${path} is not in the package`);
    }
    assert.deepEqual(
      files.filter((path) => path.endsWith('.map')),
      [],
      'source maps point at sources that are not shipped',
    );
    assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /^MIT License/);
  });

  it('has every file its package.json, README, docs and JSDoc refer to', () => {
    const shipped = (path: string) =>
      files.includes(path) || files.some((file) => file.startsWith(`${path.replace(/\/$/, '')}/`));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
      exports: Record<string, string | Record<string, string>>;
    };
    const entries = [
      ...Object.values(pkg.bin),
      ...Object.values(pkg.exports).flatMap((target) =>
        typeof target === 'string' ? [target] : Object.values(target),
      ),
    ];
    for (const entry of entries) assert.ok(shipped(entry.replace(/^\.\//, '')), entry);

    // Relative Markdown links, resolved from the file that holds them.
    const markdown = files.filter((path) => path.endsWith('.md'));
    assert.ok(markdown.length > 3);
    for (const doc of markdown) {
      const text = readFileSync(join(ROOT, doc), 'utf8');
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!target || /^(#|[a-z]+:)/.test(target)) continue;
        const path = join(doc, '..', target.replace(/#.*$/, '')).replaceAll('\\', '/');
        assert.ok(shipped(path), `${doc} links to ${target}, which is not in the package`);
      }
    }

    // docs/... and examples/... named in JSDoc and help texts (they reach users via .d.ts, --help).
    const sources = listSources(join(ROOT, 'src'));
    let named = 0;
    for (const source of sources) {
      const text = readFileSync(source, 'utf8');
      for (const [path] of text.matchAll(/\b(?:docs\/[\w-]+\.md|examples\/[\w-]+\.js)/g)) {
        named++;
        assert.ok(shipped(path), `${relative(ROOT, source)} names ${path}, which is not shipped`);
      }
    }
    assert.ok(named > 3, 'the sources name docs/ files');
  });

  describe('installed into an app', () => {
    let responder: Responder | undefined;
    let port = 0;

    before(
      async () => {
        mkdirSync(app);
        writeFileSync(
          join(app, 'package.json'),
          '{ "name": "app", "private": true, "type": "module" }\n',
        );
        ok(
          await npm(['install', '--offline', '--ignore-scripts', tarball], app, 120_000),
          'npm install',
        );
        responder = createResponder({ port: 0, httpPort: 8123, bindAddress: '127.0.0.1' });
        await responder.start();
        port = responder.port ?? 0;
      },
      { timeout: 180_000 },
    );

    after(async () => {
      await responder?.stop();
    });

    it('imports from ESM and finds a responder on loopback', async () => {
      writeFileSync(
        join(app, 'check.js'),
        `import { discoverOne } from 'beckon';
import { attachDiscovery } from 'beckon/http';
import { createTestNetwork } from 'beckon/testing';
const found = await discoverOne({ port: ${port}, targets: ['127.0.0.1'], broadcast: false, env: {} });
console.log(typeof attachDiscovery, typeof createTestNetwork, found?.url);
`,
      );
      const result = ok(await node(['check.js'], app), 'the ESM app');
      assert.equal(result.stdout, 'function function http://127.0.0.1:8123\n');
    });

    it('runs npx beckon: --help says where the docs are, discover finds the responder', async () => {
      const help = ok(
        await npm(['exec', '--offline', '--', 'beckon', '--help'], app),
        'npx beckon --help',
      );
      const installed = join(app, 'node_modules', 'beckon');
      assert.ok(
        help.stdout.includes(`Docs: README.md and docs/*.md in ${installed}\n`),
        help.stdout,
      );
      assert.ok(files.includes('docs/security.md'));
      assert.match(readFileSync(join(installed, 'docs', 'security.md'), 'utf8'), /^# /);
      // The rest through the link npm made (npx again would only add its start-up time).
      const bin = join(app, 'node_modules', '.bin', 'beckon');
      const serveHelp = ok(await node([bin, 'serve', '--help'], app), 'serve --help');
      assert.match(
        serveHelp.stdout,
        /see docs\/security\.md[\s\S]*Docs: README\.md and docs\/\*\.md in /,
      );

      const args = ['discover', '--no-broadcast', '--target', '127.0.0.1', '--port', String(port)];
      const found = ok(await node([bin, ...args, '--json'], app), 'discover');
      assert.match(found.stdout, /"url":"http:\/\/127\.0\.0\.1:8123"/);
    });
  });

  it('installs on the Node version the README and engines name without engine warnings', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      engines: { node: string };
    };
    const [, minimum] = /^>=(\d+\.\d+)$/.exec(pkg.engines.node) ?? [];
    assert.ok(minimum, pkg.engines.node);
    assert.match(
      readFileSync(join(ROOT, 'README.md'), 'utf8'),
      new RegExp(`Node ${minimum} or newer`),
    );

    // Every locked package accepts that minimum (npm warns only about the Node running it).
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    const wantNewer = Object.entries(lock.packages)
      .filter(([, entry]) => entry.engines?.node && !acceptsVersion(entry.engines.node, minimum))
      .map(([path, entry]) => `${path} wants node ${entry.engines?.node}`);
    assert.deepEqual(wantNewer, []);

    const ci = join(work, 'ci');
    mkdirSync(ci);
    for (const file of ['package.json', 'package-lock.json'])
      cpSync(join(ROOT, file), join(ci, file));
    const result = ok(
      await npm(['ci', '--dry-run', '--offline', '--ignore-scripts'], ci),
      'npm ci --dry-run',
    );
    assert.doesNotMatch(result.stdout + result.stderr, /EBADENGINE/);
  });
});

/**
 * Whether an engines range accepts Node `version` ("20.19"): true when one of its `||`
 * alternatives is `>=X[.Y[.Z]]` with X.Y.Z at most `version`, or `^X.Y.Z` with the same major
 * X and X.Y.Z at most `version`. Other forms count as refusing.
 */
function acceptsVersion(range: string, version: string): boolean {
  const number = (text: string) =>
    text
      .split('.')
      .map((part) => (/^\d+$/.test(part) ? Number(part) : 0))
      .concat(0, 0, 0)
      .slice(0, 3);
  const have = number(version);
  return range.split('||').some((alternative) => {
    if (alternative.trim() === '*') return true; // any version
    const [, operator, floor] =
      /^(>=|\^)\s*v?([\dx*]+(?:\.[\dx*]+){0,2})$/.exec(alternative.trim()) ?? [];
    if (!floor) return false;
    const want = number(floor);
    // `^X.Y.Z`: X.Y.Z or newer within major X.
    if (operator === '^' && want[0] !== have[0]) return false;
    const i = want.findIndex((part, at) => part !== have[at]);
    return i === -1 || (want[i] ?? 0) < (have[i] ?? 0);
  });
}

/** Every .ts file under `dir`. */
function listSources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path.endsWith('.ts'))
    .map((path) => join(dir, path));
}
