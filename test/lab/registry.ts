/**
 * The registry lab (issue 18, part 2): two LANs with no broadcast path between them, joined by
 * a router that forwards unicast only (Linux routes no broadcast, and no multicast without a
 * multicast router), and a third segment holding one etcd that both LANs reach.
 *
 * ```
 *   client 10.18.1.20 --[lana]-- router --[lanb]-- server 10.18.2.10
 *                                  |
 *                               [core]-- etcd 10.18.0.5:2379
 * ```
 */
import type { TestContext } from 'node:test';
import type { Server } from '../../src/index.js';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import type { LabProcess } from '../helpers/process.js';
import { type Lab, type LabHost, startLab, type Topology } from './lab.js';

export const ETCD_ADDRESS = '10.18.0.5';
export const ETCD_PORT = 2379;
export const REGISTRY = `etcd://${ETCD_ADDRESS}:${ETCD_PORT}`;
export const SERVER_ADDRESS = '10.18.2.10';
export const CLIENT_ADDRESS = '10.18.1.20';

/**
 * Builds the lab (with `extra` hosts) and starts etcd in its namespace; undefined when the test
 * was skipped.
 */
export async function startRegistryLab(
  t: TestContext,
  extra: Topology = {},
): Promise<{ lab: Lab; etcd: TestEtcd; client: LabHost; server: LabHost } | undefined> {
  const lab = await startLab(t, {
    ...extra,
    router: {
      router: true,
      interfaces: {
        eth0: { segment: 'lana', address: '10.18.1.1/24' },
        eth1: { segment: 'lanb', address: '10.18.2.1/24' },
        eth2: { segment: 'core', address: '10.18.0.1/24' },
      },
    },
    client: {
      interfaces: { eth0: { segment: 'lana', address: `${CLIENT_ADDRESS}/24` } },
      gateway: '10.18.1.1',
    },
    server: {
      interfaces: { eth0: { segment: 'lanb', address: `${SERVER_ADDRESS}/24` } },
      gateway: '10.18.2.1',
    },
    etcd: {
      interfaces: { eth0: { segment: 'core', address: `${ETCD_ADDRESS}/24` } },
      gateway: '10.18.0.1',
    },
  });
  if (!lab) return undefined;
  const etcd = await startEtcd(t, {
    host: ETCD_ADDRESS,
    clientPort: ETCD_PORT,
    peerPort: 2380,
    wrap: ['ip', 'netns', 'exec', lab.host('etcd').netns],
  });
  if (!etcd) return undefined;
  return { lab, etcd, client: lab.host('client'), server: lab.host('server') };
}

/** Starts `beckon serve --registry` in `host` and resolves once it says it registered. */
export async function serveRegistered(host: LabHost, ...args: string[]): Promise<LabProcess> {
  const server = host.beckon('serve', '--registry', REGISTRY, ...args);
  await server.waitFor(/\[OK\] Registered in etcd:\/\//, 15_000);
  return server;
}

/** One event of `beckon watch --json`. */
export interface WatchLine {
  event: 'up' | 'update' | 'down';
  reason?: string;
  at: string;
  server: Server;
}

/**
 * Waits for the next `beckon watch --json` line (after the first `seen` lines) that matches;
 * resolves with it, the count of lines read, and when it was read (`performance.now()`).
 */
export async function nextWatchLine(
  watcher: LabProcess,
  seen: number,
  test: (line: WatchLine) => boolean,
  timeoutMs: number,
): Promise<{ line: WatchLine; seen: number; at: number }> {
  const deadline = performance.now() + timeoutMs;
  let read = seen;
  for (;;) {
    const lines = watcher.stdout.split('\n').filter(Boolean);
    for (; read < lines.length; read++) {
      const line = JSON.parse(lines[read] as string) as WatchLine;
      if (test(line)) return { line, seen: read + 1, at: performance.now() };
    }
    if (performance.now() > deadline) {
      throw new Error(`no matching watch line within ${timeoutMs} ms:\n${watcher.stdout}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
