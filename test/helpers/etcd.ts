/**
 * A real etcd for the tests: one member on loopback (or on an address inside a lab namespace,
 * started through `wrap`), free client and peer ports, a temporary data directory. Stop,
 * kill, restart on the same ports (with the data kept or wiped); `cleanup()` stops it and
 * removes the directory, and is safe to call twice (use it in `t.after`).
 *
 * ```ts
 * const etcd = await startEtcd(t);          // skips (or fails under BECKON_STRICT_TESTS=1) without /usr/bin/etcd
 * if (!etcd) return;
 * etcd.url;                                 // 'etcd://127.0.0.1:PORT'
 * await etcd.stop(); await etcd.restart(); await etcd.restart({ wipe: true }); await etcd.kill();
 * ```
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { openRegistry, type RegistryConnection } from '../../src/registry/adapter.js';
import { resolveRegistry } from '../../src/registry/config.js';
import { requirePrerequisite } from './prerequisite.js';

/** Debian's etcd (package etcd-server), which `.ci/run` installs. */
export const ETCD = process.env.BECKON_ETCD ?? '/usr/bin/etcd';

/** True when the etcd binary exists. */
export const hasEtcd = (): boolean => existsSync(ETCD);

/** Options of {@link startEtcd}. */
export interface EtcdOptions {
  /** The address to listen on. @default '127.0.0.1' */
  host?: string;
  /** Ports to use; free loopback ports by default (pick your own inside a namespace). */
  clientPort?: number;
  peerPort?: number;
  /**
   * A command that runs etcd elsewhere, e.g. `['ip', 'netns', 'exec', 'ns1']`; etcd's
   * arguments follow. Readiness is then read from etcd's log, not its HTTP health endpoint.
   */
  wrap?: readonly string[];
  /** How long to wait for it to be ready. @default 20000 */
  readyTimeoutMs?: number;
  /**
   * Serve clients over TLS with this certificate and key (PEM files); with `clientCa`, also
   * require client certificates signed by it (`--client-cert-auth`). `url` is then `etcds://`.
   */
  tls?: { certFile: string; keyFile: string; clientCa?: string };
}

/** A running (or stopped) etcd. */
export interface TestEtcd {
  /** `etcd://host:clientPort` (`etcds://` with TLS), for `registry` or `--registry`. */
  readonly url: string;
  readonly host: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
  /** The running process's id; undefined while stopped. */
  readonly pid: number | undefined;
  /** Everything etcd logged, all runs together. */
  readonly log: () => string;
  /** SIGTERM, then waits for it to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
  /** SIGKILL, and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same ports, keeping the data directory or emptying it (`wipe`). */
  restart(options?: { wipe?: boolean }): Promise<void>;
  /** Stops it and removes the data directory. Safe to call more than once. */
  cleanup(): Promise<void>;
}

/**
 * Starts etcd and waits until it serves. Without the binary, skips the test (fails it under
 * BECKON_STRICT_TESTS=1) and returns undefined. Registers cleanup with `t.after`.
 */
export async function startEtcd(
  t: TestContext,
  options: EtcdOptions = {},
): Promise<TestEtcd | undefined> {
  if (!requirePrerequisite(t, hasEtcd(), `etcd (${ETCD}, Debian package etcd-server)`)) {
    return undefined;
  }
  const etcd = await launchEtcd(options);
  t.after(() => etcd.cleanup());
  return etcd;
}

/** A registry connection of the test's own to `etcd` (to read what responders wrote), closed after `t`. */
export async function connectEtcd(t: TestContext, etcd: TestEtcd): Promise<RegistryConnection> {
  const settings = resolveRegistry(etcd.url, {});
  if (!settings) throw new Error(`no registry settings from ${etcd.url}`);
  const connection = await openRegistry(settings);
  t.after(() => connection.close());
  return connection;
}

/** {@link startEtcd} without a test context: the caller must call `cleanup()`. */
export async function launchEtcd(options: EtcdOptions = {}): Promise<TestEtcd> {
  const host = options.host ?? '127.0.0.1';
  const clientPort = options.clientPort ?? (await freePort());
  const peerPort = options.peerPort ?? (await freePort());
  const dataDir = await mkdtemp(join(tmpdir(), 'beckon-etcd-'));
  const readyTimeout = options.readyTimeoutMs ?? 20_000;
  const tls = options.tls;
  const clientScheme = tls ? 'https' : 'http';
  const tlsArgs = tls
    ? [
        '--cert-file',
        tls.certFile,
        '--key-file',
        tls.keyFile,
        ...(tls.clientCa ? ['--client-cert-auth', '--trusted-ca-file', tls.clientCa] : []),
      ]
    : [];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';
  let cleaned = false;

  const args = () => [
    '--name',
    'beckon-test',
    '--data-dir',
    join(dataDir, 'member-data'),
    '--listen-client-urls',
    `${clientScheme}://${host}:${clientPort}`,
    '--advertise-client-urls',
    `${clientScheme}://${host}:${clientPort}`,
    ...tlsArgs,
    '--listen-peer-urls',
    `http://${host}:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://${host}:${peerPort}`,
    '--initial-cluster',
    `beckon-test=http://${host}:${peerPort}`,
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
  ];

  const launch = async () => {
    const [command, ...prefix] = options.wrap && options.wrap.length > 0 ? options.wrap : [ETCD];
    const argv = options.wrap && options.wrap.length > 0 ? [...prefix, ETCD, ...args()] : args();
    const started = spawn(command as string, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let runLog = '';
    const onData = (chunk: Buffer) => {
      runLog += chunk.toString();
      log += chunk.toString();
    };
    started.stdout?.on('data', onData);
    started.stderr?.on('data', onData);
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    const deadline = Date.now() + readyTimeout;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) {
        throw new Error(`etcd exited before it was ready:\n${runLog.slice(-2000)}`);
      }
      if (runLog.includes('serving client traffic') && (await healthy())) return;
      if (Date.now() > deadline) {
        started.kill('SIGKILL');
        await exited;
        throw new Error(`etcd was not ready within ${readyTimeout} ms:\n${runLog.slice(-2000)}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const healthy = async () => {
    // Another namespace, or TLS (fetch would need the CA): trust the log.
    if ((options.wrap && options.wrap.length > 0) || tls) return true;
    try {
      const response = await fetch(`http://${host}:${clientPort}/health`, {
        signal: AbortSignal.timeout(1000),
      });
      const body = (await response.json()) as { health?: string };
      return body.health === 'true';
    } catch {
      return false;
    }
  };

  const end = async (signal: NodeJS.Signals) => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    running.kill(signal);
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true }); // no etcd runs: nothing else to clean
    throw error;
  }
  const etcd: TestEtcd = {
    url: `${tls ? 'etcds' : 'etcd'}://${host.includes(':') ? `[${host}]` : host}:${clientPort}`,
    host,
    clientPort,
    peerPort,
    dataDir,
    get pid() {
      return child?.pid;
    },
    log: () => log,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    restart: async ({ wipe = false } = {}) => {
      await end('SIGTERM');
      if (wipe) await rm(join(dataDir, 'member-data'), { recursive: true, force: true });
      await launch();
    },
    cleanup: async () => {
      if (cleaned) return;
      cleaned = true;
      await end('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return etcd;
}

/** A TCP port free on loopback now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
