/**
 * Presence in the lab (docs/presence.md): watchers (`beckon watch --json`, or the library through
 * test/lab/drivers/watch.ts) whose NDJSON events are read as they come, and servers started and
 * stopped inside hosts. Used by test/lab/scenarios/presence.test.ts and bench/presence.ts.
 */
import { execFileSync } from 'node:child_process';
import type { Server } from '../../src/index.js';
import type { LabProcess } from '../helpers/process.js';
import { type Lab, type LabHost, ROOT } from './lab.js';

/** One event a watcher printed; `at` and `lastSeen` in epoch milliseconds. */
export interface SeenEvent {
  event: 'up' | 'update' | 'down';
  reason?: string;
  at: number;
  /** When the watcher last heard the server (library driver, `down` only). */
  lastSeen?: number;
  server: Server;
}

/** A running watcher whose events are parsed from its stdout. */
export class EventLog {
  constructor(readonly process: LabProcess) {}

  /** Every event printed so far. */
  get events(): SeenEvent[] {
    const events: SeenEvent[] = [];
    for (const text of this.process.stdout.split('\n')) {
      if (!text.startsWith('{')) continue;
      const raw = JSON.parse(text) as Omit<SeenEvent, 'at'> & { at: string | number };
      if (raw.event === ('ready' as string)) continue;
      events.push({ ...raw, at: typeof raw.at === 'number' ? raw.at : Date.parse(raw.at) });
    }
    return events;
  }

  /** Events of the server whose HTTP port is `port`. */
  of(port: number): SeenEvent[] {
    return this.events.filter((e) => e.server.port === port);
  }

  /**
   * Resolves with the first event matching `test` after index `from` of {@link events}
   * (polled every 10 ms); rejects after `timeoutMs` or when the watcher exits.
   */
  async next(test: (event: SeenEvent) => boolean, timeoutMs: number, from = 0): Promise<SeenEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find(test);
      if (found) return found;
      if (this.process.done) {
        throw new Error(`the watcher exited:\n${this.process.stdout}${this.process.stderr}`);
      }
      if (Date.now() > deadline) {
        throw new Error(`no matching event in ${timeoutMs} ms; events:\n${this.process.stdout}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** `up` (or the `update` that names it) of the server on HTTP port `port`. */
export const upOf = (port: number) => (e: SeenEvent) => e.event === 'up' && e.server.port === port;

/** `down` of the server on HTTP port `port`. */
export const downOf = (port: number) => (e: SeenEvent) =>
  e.event === 'down' && e.server.port === port;

/** Starts `beckon watch --json` in `host`. */
export function watchCli(host: LabHost, ...args: string[]): EventLog {
  return new EventLog(host.beckon('watch', '--json', ...args));
}

/** Starts the library's `watch(options)` in `host` and resolves once it runs. */
export async function watchLib(host: LabHost, options: object = {}): Promise<EventLog> {
  const child = host.spawn(process.execPath, [
    '--import',
    'tsx',
    `${ROOT}test/lab/drivers/watch.ts`,
    JSON.stringify(options),
  ]);
  await child.waitFor(/"event":"ready"/, 30_000);
  return new EventLog(child);
}

/**
 * Starts `beckon serve` in `host` without waiting; `listening` resolves with the epoch ms at
 * which its "Listening" line was read (it answers and announces from about then).
 */
export function startServer(
  host: LabHost,
  httpPort: number,
  ...args: string[]
): { process: LabProcess; spawnedAt: number; listening: Promise<number> } {
  const spawnedAt = Date.now();
  const child = host.beckon('serve', '--http-port', String(httpPort), ...args);
  const listening = child.waitFor(/\[OK\] Listening on/, 30_000).then(() => Date.now());
  return { process: child, spawnedAt, listening };
}

/** The namespace of the lab's switch: where every frame of its LANs passes. */
export function switchNamespace(lab: Lab): string {
  return `${lab.id}.switch`;
}

/** What {@link countLanUdp} tells apart: announcements (to 9998), queries (to 9999), answers. */
const KINDS = {
  announce4: 'ether type ip udp dport 9998',
  announce6: 'ether type ip6 udp dport 9998',
  query4: 'ether type ip udp dport 9999',
  query6: 'ether type ip6 udp dport 9999',
  answer4: 'ether type ip udp sport 9999 udp dport != 9998',
  answer6: 'ether type ip6 udp sport 9999 udp dport != 9998',
  udp: 'meta l4proto udp',
} as const;

/** UDP packets on the LAN, all (`udp`) and by kind. */
export type LanCounts = Record<keyof typeof KINDS, number>;

/**
 * Counts the UDP frames entering the lab's bridges (each frame once, at the port it came in
 * on: a broadcast is one packet on the LAN, however many hosts it reaches). IPv4 and IPv6, all
 * (`udp`) and by kind (to ports 9998 and 9999, the defaults).
 */
export function countLanUdp(lab: Lab): { read(): LanCounts; reset(): void } {
  const netns = switchNamespace(lab);
  const nft = (...args: string[]) =>
    execFileSync('ip', ['netns', 'exec', netns, 'nft', ...args], {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  const names = Object.keys(KINDS) as (keyof typeof KINDS)[];
  execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], {
    input: `
table bridge beckon_presence {
${names.map((name) => `  counter c_${name} {}`).join('\n')}
  chain ingress {
    type filter hook prerouting priority 0; policy accept;
${names.map((name) => `    ${KINDS[name]} counter name c_${name}`).join('\n')}
  }
}`,
    stdio: 'pipe',
  });
  return {
    read: () => {
      const text = nft('list', 'table', 'bridge', 'beckon_presence');
      const counts = {} as LanCounts;
      for (const name of names) {
        const match = new RegExp(`counter c_${name} \\{\\s*packets (\\d+)`).exec(text);
        if (!match) throw new Error(`no counter ${name} in the switch`);
        counts[name] = Number(match[1]);
      }
      return counts;
    },
    reset: () => {
      nft('reset', 'counters', 'table', 'bridge', 'beckon_presence');
    },
  };
}

/**
 * What `netem loss P%` on a host's link would do, in both directions (this kernel has no netem):
 * the lab's switch drops each UDP frame that comes in from, or goes out to, bridge port `port`
 * (`p0` for the first interface of the topology's first host) with probability `percent` %.
 * Dropped on the wire, not in the host: its sends do not fail (an output rule would make them
 * fail with EPERM). `dropped()` tells how many were dropped each way.
 */
export function lossyPort(
  lab: Lab,
  port: string,
  percent: number,
): { dropped(): { from: number; to: number } } {
  const netns = switchNamespace(lab);
  execFileSync('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], {
    input: `
table bridge beckon_presence_loss {
  counter dropped_from {}
  counter dropped_to {}
  chain ingress {
    type filter hook prerouting priority 0; policy accept;
    iifname "${port}" meta l4proto udp numgen random mod 100 < ${percent} counter name dropped_from drop
  }
  chain forward {
    type filter hook forward priority 0; policy accept;
    oifname "${port}" meta l4proto udp numgen random mod 100 < ${percent} counter name dropped_to drop
  }
}`,
    stdio: 'pipe',
  });
  return {
    dropped: () => {
      const text = execFileSync(
        'ip',
        ['netns', 'exec', netns, 'nft', 'list', 'table', 'bridge', 'beckon_presence_loss'],
        { encoding: 'utf8' },
      );
      const read = (name: string) =>
        Number(new RegExp(`counter ${name} \\{\\s*packets (\\d+)`).exec(text)?.[1] ?? NaN);
      return { from: read('dropped_from'), to: read('dropped_to') };
    },
  };
}

/** The median of `values`. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** A LAN 10.17.<net>.0/24: `watcher` at .2, servers s1..sN at .11, .12... */
export function presenceLan(net: number, servers: number) {
  const topology: Record<string, { interfaces: { eth0: { segment: string; address: string } } }> = {
    watcher: { interfaces: { eth0: { segment: 'lan', address: `10.17.${net}.2/24` } } },
  };
  for (let i = 1; i <= servers; i++) {
    topology[`s${i}`] = {
      interfaces: { eth0: { segment: 'lan', address: `10.17.${net}.${10 + i}/24` } },
    };
  }
  return topology;
}
