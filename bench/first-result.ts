// Time to first result: a warm in-process discoverOne() against the raw round trip of one
// request on a bare socket, and `beckon discover --first` from spawn to printed result against
// `node -e 0` (Node's own start-up). All on loopback, against one responder process.
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { join } from 'node:path';
import { discoverOne } from '../src/index.js';
import { median, percentile, printTable, ROOT, startReady, stop, TSX } from './lib/process.js';
import { firstRoundSends } from './lib/sends.js';

const IN_PROCESS_RUNS = 300;
const SPAWN_RUNS = 20;

/** One request on a bare, already bound socket: the floor any client can reach. */
function rawRoundTrip(port: number, runs: number): Promise<number[]> {
  const socket = createSocket('udp4');
  const request = Buffer.from('DISCOVER_SERVER');
  const times: number[] = [];
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    let timer: NodeJS.Timeout | undefined;
    const fail = (error: Error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    };
    const next = () => {
      if (times.length === runs) {
        socket.close();
        resolve(times);
        return;
      }
      sentAt = performance.now();
      socket.send(request, port, '127.0.0.1');
      timer = setTimeout(() => fail(new Error('no reply within 1 s')), 1000);
    };
    socket.on('error', fail);
    socket.on('message', () => {
      clearTimeout(timer);
      times.push(performance.now() - sentAt);
      setImmediate(next);
    });
    socket.bind(0, '127.0.0.1', next);
  });
}

// The responder binds 127.0.0.1, which hears no broadcast: ask it by unicast.
const unicast = { targets: ['127.0.0.1'], broadcast: false, timeout: 1000 } as const;

async function inProcess(port: number, runs: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const server = await discoverOne({ port, env: {}, ...unicast });
    if (!server) throw new Error('discoverOne found nothing');
    times.push(performance.now() - started);
  }
  return times;
}

function spawnTimes(args: readonly string[], runs: number, expect?: RegExp): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const result = spawnSync(process.execPath, args, {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 10_000,
    });
    times.push(performance.now() - started);
    if (result.status !== 0 || (expect && !expect.test(result.stdout))) {
      throw new Error(`node ${args.join(' ')} failed: ${result.stderr}`);
    }
  }
  return times;
}

export async function run(): Promise<void> {
  const ready = await startReady(
    [...TSX, join(import.meta.dirname, 'responder-child.ts')],
    /^ready \d+$/,
  );
  const responder = ready.child;
  try {
    const port = Number(ready.words[1]);
    // Warm-up: JIT, the interface list, the responder's per-source cache.
    await rawRoundTrip(port, 50);
    await inProcess(port, 50);
    const raw = await rawRoundTrip(port, IN_PROCESS_RUNS);
    const ours = await inProcess(port, IN_PROCESS_RUNS);
    const bin = join(ROOT, 'bin', 'beckon.js');
    const cliArgs = [bin, 'discover', '--first', '--port', String(port)];
    cliArgs.push('--target', '127.0.0.1', '--no-broadcast');
    spawnTimes(['-e', '0'], 3);
    spawnTimes(cliArgs, 3);
    const floor = spawnTimes(['-e', '0'], SPAWN_RUNS);
    const cli = spawnTimes(cliArgs, SPAWN_RUNS, /127\.0\.0\.1:8000/);

    const ms = (value: number) => value.toFixed(3);
    console.log(
      `\n## Time to first result (median of ${IN_PROCESS_RUNS} in process, ${SPAWN_RUNS} spawns)\n`,
    );
    printTable(
      ['measure', 'median ms', 'p99 ms', 'reference', 'reference median ms', 'difference ms'],
      [
        [
          'discoverOne(), warm',
          ms(median(ours)),
          ms(percentile(ours, 99)),
          'raw round trip, bare socket',
          ms(median(raw)),
          ms(median(ours) - median(raw)),
        ],
        [
          'beckon discover --first, spawn to exit',
          median(cli).toFixed(1),
          percentile(cli, 99).toFixed(1),
          'node -e 0',
          median(floor).toFixed(1),
          (median(cli) - median(floor)).toFixed(1),
        ],
      ],
    );
    // The client asks both families in one run: what a call puts on the wire, measured and by
    // broadcast on loopback (not answered here: the responder binds 127.0.0.1 only).
    console.log('\nWhat one discoverOne() call sends (first round):\n');
    console.log(
      `- measured (targets 127.0.0.1, no broadcast): ${(await firstRoundSends({ port, ...unicast })).join('; ')}`,
    );
    const lo = await firstRoundSends({ port, interfaces: ['lo'], timeout: 200 });
    console.log(`- interfaces ['lo'] (broadcast): ${lo.join('; ')}`);
  } finally {
    await stop(responder);
  }
}
