// Presence in the lab (issue 17, docs/presence.md): one LAN (a bridge) of network namespaces,
// `beckon watch --json` on watcher hosts and `beckon serve` on server hosts, real processes.
// Measures start to `up`, SIGTERM to `down` (goodbye), SIGKILL to `down` (expired) with the
// default 15 s lease, false downs at 30% loss both ways with the default settings, steady-state
// UDP packets/s on the LAN (1 and 20 watchers x 20 servers, against watchers that poll), and,
// when Debian's python3-zeroconf is installed, the same times for a python-zeroconf
// ServiceBrowser and registered services. Needs root (and nft for loss and packet counts).
//
// About 5 minutes by default. BECKON_BENCH_PRESENCE_FULL=1: the 10 minutes of loss and
// 120 s windows after a first minute (about 15 minutes); BECKON_BENCH_PRESENCE_LOSS_MINUTES=N sets
// the loss run alone; BECKON_BENCH_PRESENCE_PARTS=timing,traffic,loss picks parts.
import { spawnSync } from 'node:child_process';
import type { LabProcess } from '../test/helpers/process.js';
import {
  canBuildLab,
  hasCommand,
  Lab,
  type LabHost,
  ROOT,
  type Topology,
} from '../test/lab/lab.js';
import {
  countLanUdp,
  downOf,
  EventLog,
  lossyPort,
  startServer,
  upOf,
  watchCli,
  watchLib,
} from '../test/lab/presence.js';
import { median, printTable } from './lib/process.js';

const FULL = process.env.BECKON_BENCH_PRESENCE_FULL === '1';
const LOSS_MINUTES = Number(process.env.BECKON_BENCH_PRESENCE_LOSS_MINUTES ?? (FULL ? 10 : 2));
/** Watching setups: a first minute (20 s by default), then 4 refresh cycles or more. */
const TRAFFIC_WARMUP_MS = FULL ? 60_000 : 20_000;
const TRAFFIC_WINDOW_MS = FULL ? 120_000 : 45_000;
/** Polling setups repeat every 5 s: shorter. */
const POLL_WARMUP_MS = FULL ? 30_000 : 10_000;
const POLL_WINDOW_MS = FULL ? 60_000 : 15_000;
const RUNS = 10;
const KILLS = 4;
const LEASE_MS = 15_000;
const PYTHON = '/usr/bin/python3';
/** The key of the keyed runs (inside the lab's namespaces only). */
const KEY = 'presence-bench-key-0123456789';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)}` : '-');

/** A LAN 10.<net>.0.0/16: watchers w1..wN at .1.x, servers s1..sM at .2.x. */
function lan(net: number, watchers: number, servers: number): Topology {
  const topology: Topology = {};
  const add = (name: string, address: string) => {
    topology[name] = { interfaces: { eth0: { segment: 'lan', address } } };
  };
  for (let i = 1; i <= watchers; i++) add(`w${i}`, `10.${net}.1.${i}/16`);
  for (let i = 1; i <= servers; i++) add(`s${i}`, `10.${net}.2.${i}/16`);
  return topology;
}

async function withLab<T>(topology: Topology, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = new Lab();
  try {
    await lab.build(topology);
    return await fn(lab);
  } finally {
    lab.destroy();
  }
}

const stats = (values: number[]) => [
  ms(median(values)),
  ms(Math.max(...values)),
  ms(Math.min(...values)),
  String(values.length),
];

/** Start to up, SIGTERM to down, SIGKILL to down (default lease); python-zeroconf beside. */
async function timing(lab: Lab): Promise<string[][]> {
  const watcher = lab.host('w1');
  const cli = watchCli(watcher);
  const lib = await watchLib(watcher);
  const sentinel = startServer(lab.host(`s${KILLS + 1}`), 8000);
  await cli.next(upOf(8000), 15_000);
  const ups: number[] = [];
  const goodbyes: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const port = 8100 + run;
    const server = startServer(lab.host('s1'), port);
    const up = await cli.next(upOf(port), 10_000);
    ups.push(up.at - server.spawnedAt);
    await server.listening;
    await sleep(200 + Math.random() * 800);
    const stopAt = Date.now();
    server.process.kill('SIGTERM');
    const down = await cli.next(downOf(port), 10_000);
    if (down.reason !== 'goodbye') throw new Error(`SIGTERM: down ${down.reason}`);
    goodbyes.push(down.at - stopAt);
    await server.process.exited;
  }
  // Keyed: signed announcements and goodbyes, believed at once.
  const keyed = watchCli(watcher, '--auth-key', KEY);
  await sleep(2000); // listening (it prints nothing before an event)
  const keyedUps: number[] = [];
  const keyedGoodbyes: number[] = [];
  for (let run = 0; run < 5; run++) {
    const port = 8150 + run;
    const server = startServer(lab.host('s1'), port, '--auth-key', KEY);
    const up = await keyed.next(upOf(port), 10_000);
    keyedUps.push(up.at - server.spawnedAt);
    await server.listening;
    await sleep(200 + Math.random() * 800);
    const stopAt = Date.now();
    server.process.kill('SIGTERM');
    const down = await keyed.next(downOf(port), 10_000);
    if (down.reason !== 'goodbye') throw new Error(`SIGTERM: down ${down.reason}`);
    keyedGoodbyes.push(down.at - stopAt);
    await server.process.exited;
  }
  keyed.process.kill('SIGTERM');
  // SIGKILL, default lease: KILLS servers at once, each killed anywhere in its lease.
  const kills = await Promise.all(
    Array.from({ length: KILLS }, async (_, i) => {
      const port = 8200 + i;
      const server = startServer(lab.host(`s${i + 1}`), port);
      await cli.next(upOf(port), 10_000);
      await lib.next(upOf(port), 10_000);
      await sleep(2000 + Math.random() * LEASE_MS);
      const killAt = Date.now();
      server.process.kill('SIGKILL');
      const down = await cli.next(downOf(port), LEASE_MS + 10_000);
      const libDown = await lib.next(downOf(port), 10_000);
      if (down.reason !== 'expired') throw new Error(`SIGKILL: down ${down.reason}`);
      return { afterKill: down.at - killAt, afterHeard: libDown.at - (libDown.lastSeen ?? NaN) };
    }),
  );
  const falseDowns = cli.of(8000).filter((e) => e.event === 'down').length;
  await sentinel.process.stop();
  cli.process.kill('SIGTERM');
  lib.process.kill('SIGTERM');
  const rows = [
    ['beckon: start (spawn) to up', ...stats(ups), '≤ 1,500'],
    ['beckon: SIGTERM to down (goodbye)', ...stats(goodbyes), '≤ 500'],
    ['beckon, keyed: start (spawn) to up', ...stats(keyedUps), '≤ 1,500'],
    ['beckon, keyed: SIGTERM to down (signed goodbye)', ...stats(keyedGoodbyes), '≤ 500'],
    [
      'beckon: SIGKILL to down (expired), lease 15 s',
      ...stats(kills.map((k) => k.afterKill)),
      '≤ 16,000',
    ],
    [
      'beckon: last heard to down (expired), lease 15 s',
      ...stats(kills.map((k) => k.afterHeard)),
      '≥ 15,000',
    ],
  ];
  if (falseDowns > 0) rows.push(['beckon: the sentinel went down (false)', String(falseDowns)]);
  return [...rows, ...(await zeroconf(lab))];
}

function hasZeroconf(): boolean {
  return spawnSync(PYTHON, ['-c', 'import zeroconf']).status === 0;
}

/** The same with python-zeroconf: a ServiceBrowser, services registered on server hosts. */
async function zeroconf(lab: Lab): Promise<string[][]> {
  if (!hasZeroconf())
    return [['python-zeroconf: not installed (apt-get install python3-zeroconf)']];
  const script = `${ROOT}bench/presence-zeroconf.py`;
  const browser = new EventLog(lab.host('w1').spawn(PYTHON, [script, 'browse']));
  await browser.process.waitFor(/"ready"/, 15_000);
  const eventsOf = () =>
    browser.process.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event: string; name: string; at: number });
  const next = async (event: string, name: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = eventsOf().find((e) => e.event === event && e.name.startsWith(`${name}.`));
      if (found) return found;
      if (Date.now() > deadline) return undefined;
      await sleep(20);
    }
  };
  const register = (host: LabHost, name: string, ip: string, ttl?: number) => {
    const spawnedAt = Date.now();
    const args = [script, 'register', name, ip, '8080', ...(ttl ? [String(ttl)] : [])];
    return { process: host.spawn(PYTHON, args), spawnedAt };
  };
  const ups: number[] = [];
  const goodbyes: number[] = [];
  for (let run = 0; run < 5; run++) {
    const name = `run${run}`;
    const service = register(lab.host('s1'), name, '10.18.2.1');
    const up = await next('up', name, 15_000);
    if (!up) throw new Error(`python-zeroconf: ${name} never came up`);
    ups.push(up.at - service.spawnedAt);
    await service.process.waitFor(/registered/, 15_000);
    await sleep(200 + Math.random() * 800);
    const stopAt = Date.now();
    service.process.kill('SIGTERM');
    const down = await next('down', name, 10_000);
    goodbyes.push(down ? down.at - stopAt : Number.NaN);
    await service.process.exited;
  }
  // SIGKILL: the default TTLs (4,500 s) and a 15 s TTL, like beckon's lease.
  const waitMs = FULL ? 180_000 : 60_000;
  const killed: { label: string; process: LabProcess; name: string }[] = [
    {
      label: 'default TTLs',
      name: 'killed-default',
      process: register(lab.host('s2'), 'killed-default', '10.18.2.2').process,
    },
    {
      label: 'TTL 15 s',
      name: 'killed-ttl15',
      process: register(lab.host('s3'), 'killed-ttl15', '10.18.2.3', 15).process,
    },
  ];
  for (const k of killed) await next('up', k.name, 15_000);
  await sleep(3000);
  const killAt = Date.now();
  for (const k of killed) k.process.kill('SIGKILL');
  const downs = await Promise.all(killed.map((k) => next('down', k.name, waitMs)));
  browser.process.kill('SIGTERM');
  return [
    ['python-zeroconf: start (spawn) to up', ...stats(ups), ''],
    ['python-zeroconf: SIGTERM to down (goodbye)', ...stats(goodbyes.filter(Number.isFinite)), ''],
    ...killed.map((k, i) => {
      const down = downs[i];
      return [
        `python-zeroconf: SIGKILL to down, ${k.label}`,
        // Its browser removes a service when the PTR record expires, and raises a PTR TTL
        // under 1,125 s to that (zeroconf/_handlers.py, sanitize_incoming_record).
        down ? ms(down.at - killAt) : `none in ${waitMs / 1000} s (PTR TTL ≥ 1,125 s)`,
        '',
        '',
        '1',
        '',
      ];
    }),
  ];
}

/** False downs at 30% loss both ways at the watcher, default settings. */
async function loss(lab: Lab, servers: number): Promise<string[][]> {
  const watcher = lab.host('w1');
  const cli = watchCli(watcher);
  await sleep(1000);
  for (let i = 1; i <= servers; i++) startServer(lab.host(`s${i}`), 8000 + i);
  for (let i = 1; i <= servers; i++) await cli.next(upOf(8000 + i), 20_000);
  const lossy = lossyPort(lab, 'p0', 30);
  await sleep(LOSS_MINUTES * 60_000);
  const dropped = lossy.dropped();
  const downs = cli.events.filter((e) => e.event === 'down');
  cli.process.kill('SIGTERM');
  return [
    [
      `${servers} servers, ${LOSS_MINUTES} min`,
      String(downs.length),
      `${dropped.from} / ${dropped.to}`,
      String(Math.round((LOSS_MINUTES * 60_000 * servers) / (LEASE_MS * 0.75))),
    ],
  ];
}

/** Steady-state UDP packets/s on a LAN of 20 servers, for each way of watching. */
async function traffic(lab: Lab, size: number): Promise<string[][]> {
  const counter = countLanUdp(lab);
  const rows: string[][] = [];
  const measure = async (
    label: string,
    watching: () => Promise<() => void>,
    [warmup, window] = [TRAFFIC_WARMUP_MS, TRAFFIC_WINDOW_MS],
  ) => {
    const stop = await watching();
    await sleep(warmup);
    counter.reset();
    const from = Date.now();
    await sleep(window);
    const counts = counter.read();
    const seconds = (Date.now() - from) / 1000;
    stop();
    const perServer = counts.udp / size / (seconds / (LEASE_MS / 2000));
    rows.push([
      label,
      seconds.toFixed(0),
      (counts.udp / seconds).toFixed(2),
      perServer.toFixed(2),
      `${counts.query4 + counts.query6} / ${counts.announce4 + counts.announce6} / ${counts.answer4 + counts.answer6}`,
    ]);
    await sleep(3000); // the watchers' and servers' last packets before the next setup
  };
  const serversWith = async (...args: string[]) => {
    const servers = Array.from({ length: size }, (_, i) =>
      startServer(lab.host(`s${i + 1}`), 8001 + i, ...args),
    );
    await Promise.all(servers.map((s) => s.listening));
    return servers;
  };
  const watchers = (count: number, ...args: string[]) => {
    const logs = Array.from({ length: count }, (_, i) => watchCli(lab.host(`w${i + 1}`), ...args));
    return () => {
      for (const log of logs) log.process.kill('SIGTERM');
    };
  };

  let servers = await serversWith();
  await measure(`1 watcher x ${size} servers`, async () => watchers(1));
  await measure(`${size} watchers x ${size} servers`, async () => watchers(size));
  await Promise.all(servers.map((s) => s.process.stop()));
  // The baselines: the same crash-detection time without announcements or suppression.
  servers = await serversWith('--no-announce');
  await measure(
    `${size} watchers x ${size} servers --no-announce (each polls each, every 5 s)`,
    async () => watchers(size),
    [POLL_WARMUP_MS, POLL_WINDOW_MS],
  );
  await measure(`${size} discover() loops (every 5 s) x ${size} servers`, async () => {
    const loops = Array.from({ length: size }, (_, i) =>
      lab
        .host(`w${i + 1}`)
        .spawn(process.execPath, ['--import', 'tsx', `${ROOT}bench/presence-poll.ts`, '5000']),
    );
    return () => {
      for (const loop of loops) loop.kill('SIGTERM');
    };
  }, [POLL_WARMUP_MS, POLL_WINDOW_MS]);
  await Promise.all(servers.map((s) => s.process.stop()));
  return rows;
}

export async function run(): Promise<void> {
  const title = '## Presence in the lab (one LAN, real processes)';
  if (!canBuildLab() || !hasCommand('nft')) {
    console.log(`\n${title}\n\nskipped: needs root with iproute2, network namespaces and nft`);
    return;
  }
  const parts = new Set(
    (process.env.BECKON_BENCH_PRESENCE_PARTS ?? 'timing,traffic,loss').split(','),
  );
  console.log(`\n${title}\n`);
  if (parts.has('timing')) {
    const timingRows = await withLab(lan(18, 1, KILLS + 1), timing);
    printTable(['what', 'median ms', 'worst ms', 'best ms', 'runs', 'target ms'], timingRows);
  }
  // The loss run and the traffic runs at once, on two LANs (their counts do not mix).
  const lossRun = parts.has('loss') ? withLab(lan(20, 1, 5), (lab) => loss(lab, 5)) : undefined;
  if (parts.has('traffic')) {
    const trafficRows = await withLab(lan(19, 20, 20), (lab) => traffic(lab, 20));
    console.log(
      '\nSteady-state UDP packets on the LAN (lease 15 s), counted at the switch after a warm-up\n',
    );
    printTable(
      [
        'setup',
        'counted s',
        'packets/s',
        'per server per half-lease',
        'queries / announcements / answers',
      ],
      trafficRows,
    );
  }
  if (lossRun) {
    const lossRows = await lossRun;
    console.log('\nFalse downs at 30% loss both ways at the watcher (default settings)\n');
    printTable(
      ['run', 'false downs', 'dropped from / to the watcher', 'refreshes (about)'],
      lossRows,
    );
  }
}
