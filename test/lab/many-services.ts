/**
 * Lab helpers of scenario 16 (one host, many services): the apps, the probes, and the
 * measurement of a takeover (test/lab/scenarios/many-services*.test.ts).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import type { Server } from '../../src/index.js';
import { hasPython, PYTHON, requirePrerequisite } from '../helpers/prerequisite.js';
import type { LabProcess } from '../helpers/process.js';
import { type LabHost, ROOT, startLab } from './lab.js';

export const hasIfaddr = () =>
  hasPython() && spawnSync(PYTHON, ['-c', 'import ifaddr']).status === 0;

/** A server host and a client host on one LAN (10.16.<n>.0/24), no default route. */
export async function lab(t: TestContext, n: number) {
  if (!requirePrerequisite(t, hasIfaddr(), `${PYTHON} with python3-ifaddr`)) return undefined;
  const net = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: `10.16.${n}.10/24` } } },
    client: { interfaces: { eth0: { segment: 'lan', address: `10.16.${n}.20/24` } } },
  });
  if (!net) return undefined;
  return { server: net.host('server'), client: net.host('client'), ip: `10.16.${n}.10` };
}

/** What one app of the lab is: how to start it again after it was killed. */
export interface App {
  readonly label: string;
  readonly service: string;
  readonly httpPort: number;
  start(): Promise<LabProcess>;
}

export const SETTLED = /state \d+ (answering|registered)/;
/** What a registered app prints when it takes the port over (the driver, or `beckon serve`). */
export const TOOK_OVER = /state \d+ answering|\[OK\] Took over UDP port/;

/** An Express or Fastify app with beckon (test/lab/drivers/service-app.ts), started in `host`. */
export function frameworkApp(
  host: LabHost,
  kind: 'express' | 'fastify',
  service: string,
  httpPort: number,
  workers = 0,
): App {
  return {
    label: workers > 0 ? `${kind} (node:cluster, ${workers} workers)` : kind,
    service,
    httpPort,
    async start() {
      const app = host.spawn(process.execPath, [
        '--import',
        'tsx',
        `${ROOT}test/lab/drivers/service-app.ts`,
        kind,
        JSON.stringify({ service, httpPort }),
        String(workers),
      ]);
      // Each worker (or the app itself) settles.
      const settled = new RegExp(`(${SETTLED.source}[\\s\\S]*){${Math.max(workers, 1)}}`);
      await app.waitFor(settled, 30_000);
      return app;
    },
  };
}

/** `beckon serve --service <service> --http-port <port>` (the built CLI) as a sidecar in `host`. */
export function sidecar(
  host: LabHost,
  service: string,
  httpPort: number,
  env: NodeJS.ProcessEnv = {},
): App {
  return {
    label: 'beckon serve',
    service,
    httpPort,
    async start() {
      const process_ = host.spawn(
        process.execPath,
        [`${ROOT}bin/beckon.js`, 'serve', '--service', service, '--http-port', String(httpPort)],
        { env },
      );
      await process_.waitFor(/\[OK\] (Listening on|Registered with)/, 20_000);
      return process_;
    },
  };
}

/** The PIDs holding UDP port 9999 in `host` (IPv4 and IPv6 sockets of one process count once). */
export function portHolders(host: LabHost): number[] {
  const out = spawnSync('ip', ['netns', 'exec', host.netns, 'ss', '-Hulpn', 'sport = :9999'], {
    encoding: 'utf8',
  }).stdout;
  return [...new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])))];
}

/** The PIDs listening on the host channel of port 9999 (the abstract socket `beckon/9999`). */
export function channelHolders(host: LabHost): number[] {
  const out = spawnSync('ip', ['netns', 'exec', host.netns, 'ss', '-Hxlpn'], {
    encoding: 'utf8',
  }).stdout;
  const lines = out.split('\n').filter((line) => line.includes('@beckon/9999'));
  return [...new Set(lines.flatMap((l) => [...l.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]))))];
}

export type ProbeReply = { text?: string; service?: string; instanceId?: string; port?: number };

/** One raw request to `target`:9999 from `host`: every datagram that came back, unmerged. */
export async function probeOnce(host: LabHost, target: string, kind: 'plain' | 'extended') {
  const run = await host.script('test/lab/drivers/probe.ts', ['once', target, kind, '1000']);
  assert.equal(run.status, 0, run.stderr);
  return (JSON.parse(run.stdout) as { replies: ProbeReply[] }).replies;
}

/** An answer seen by `probe.ts poll`. */
export interface PollAnswer {
  sent: number;
  at: number;
  service: string;
  instanceId: string;
  port: number;
}

export const pollAnswers = (poller: LabProcess): PollAnswer[] =>
  poller.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as PollAnswer);

/** Wall clock in ms with sub-ms resolution, comparable across the lab's processes. */
export const now = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 50 ms until it returns a value, or fails after `timeoutMs`. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Services in the extended answers of `servers`, sorted. */
export const services = (servers: Server[]) =>
  servers.map((s) => s.metadata?.service ?? '-').sort();

/**
 * SIGKILLs `victim` while `client` polls `ip` every 50 ms, and measures from the kill: when a
 * request sent after it was first answered by every one of `others` (takeover), and when an
 * answer last carried the victim's instance id (record gone). Polls until `holdMs` after the
 * kill, then checks the tail: the last requests are answered by exactly `others`. Also times
 * when one of `survivors` said it took the port over (`portTakenMs`; none does when the victim
 * was a registered one).
 */
export async function killAndMeasure(
  client: LabHost,
  ip: string,
  victim: { pid: number; instanceId: string; service: string },
  others: string[],
  survivors: LabProcess[],
  holdMs = 3000,
): Promise<{
  takeoverMs: number;
  lastSeenMs: number;
  portTakenMs: number | undefined;
  answers: PollAnswer[];
}> {
  const poller = client.spawn(process.execPath, [
    '--import',
    'tsx',
    `${ROOT}test/lab/drivers/probe.ts`,
    'poll',
    ip,
    '50',
  ]);
  try {
    await poller.waitFor(/ready/, 20_000);
    // Every service answers before the kill, the victim included.
    const all = [...new Set([...others, victim.service])].sort();
    await until('every service answering the poll', 5000, () => {
      const bySent = new Map<number, Set<string>>();
      for (const a of pollAnswers(poller)) {
        bySent.set(a.sent, (bySent.get(a.sent) ?? new Set()).add(a.service));
      }
      return [...bySent.values()].some((s) => [...s].sort().join() === all.join()) || undefined;
    });
    // At a random phase of the poll: the test's timers tend to line up with the poller's output.
    await sleep(Math.random() * 50);
    const tookOver: number[] = [];
    const watch = (chunk: Buffer | string) => {
      if (TOOK_OVER.test(String(chunk))) tookOver.push(now());
    };
    for (const p of survivors) p.child.stdout?.on('data', watch);
    const killedAt = now();
    process.kill(victim.pid, 'SIGKILL');
    await until(`${holdMs} ms after the kill`, holdMs + 5000, () =>
      now() - killedAt > holdMs ? true : undefined,
    );
    const answers = pollAnswers(poller);
    // The answers to the last requests may still be on their way (each service answers in
    // turn): requests sent in the last 300 ms before this read are left out of the tail below.
    const readAt = now();
    // Takeover: the first request sent after the kill that every other service answered.
    const after = new Map<number, Map<string, number>>();
    for (const a of answers.filter((a) => a.sent > killedAt)) {
      const request = after.get(a.sent) ?? new Map<string, number>();
      request.set(a.service, Math.min(a.at, request.get(a.service) ?? Infinity));
      after.set(a.sent, request);
    }
    const complete = [...after.values()]
      .filter((request) => others.every((s) => request.has(s)))
      .map((request) => Math.max(...others.map((s) => request.get(s) ?? Infinity)));
    assert.ok(complete.length > 0, `no request after the kill got ${others.join(' and ')}`);
    const takeoverMs = Math.min(...complete) - killedAt;
    // (Its service may live on in identical records: cluster workers.)
    const victimAnswers = answers.filter((a) => a.instanceId === victim.instanceId);
    assert.ok(victimAnswers.length > 0, 'the victim never answered the poll');
    const lastSeenMs = Math.max(...victimAnswers.map((a) => a.at)) - killedAt;
    // None lost: the requests of the last second are each answered by exactly the others.
    const tail = [...after.entries()].filter(
      ([sent]) => sent > killedAt + holdMs - 1000 && sent < readAt - 300,
    );
    assert.ok(tail.length >= 5, `only ${tail.length} requests in the last second`);
    for (const [, request] of tail) assert.deepEqual([...request.keys()].sort(), others.sort());
    const portTakenMs = tookOver.length > 0 ? Math.min(...tookOver) - killedAt : undefined;
    for (const p of survivors) p.child.stdout?.off('data', watch);
    return { takeoverMs, lastSeenMs, portTakenMs, answers };
  } finally {
    poller.kill('SIGTERM');
    await Promise.race([poller.exited, sleep(3000)]);
    poller.kill('SIGKILL');
  }
}

/**
 * The bound for the takeover is 1 s, measured from the SIGKILL to the arrival of the
 * answers (so it includes up to one 50 ms poll interval).
 */
export const TAKEOVER_BOUND_MS = 1000;

export const KEY = 'lab-key-0123456789abcdef'; // 24 bytes: authKeys need 16 to 256

/** The three apps on one host: Express, Fastify and a `beckon serve` sidecar. */
export function threeApps(server: Parameters<typeof sidecar>[0]) {
  return [
    frameworkApp(server, 'express', 'orders', 8080),
    frameworkApp(server, 'fastify', 'users', 8081),
    sidecar(server, 'billing', 8090),
  ];
}
