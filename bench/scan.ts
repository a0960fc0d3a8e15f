// Subnet scan in the lab (issue 18, docs/beyond-one-lan.md): the scan lab's /16 cut into /24
// segments behind a router (test/lab/scan.ts), servers in 10.20.7.0/24 and in the farthest
// segment 10.20.255.0/24, the client in 10.20.1.0/24. For each setup, one library discovery
// run with a scan: the probe rate on the wire (the client's datagrams to the discovery port,
// counted by nftables as they enter the router, per 1 s window, the first and last windows
// left out) against the configured rate, the time from the start of the run to the farthest
// server, and the whole run against its documented time (addresses / rate + 1 s; `auto` starts
// 1 s later, after broadcast). `auto` runs on the lab's /20 variant: the client 10.20.1.10/20
// asks ARP for every address (the router answers, proxy, for the servers' /28 segments), its
// scan is held to the on-link rate, and its probes are counted as they leave the client. Needs
// root and nft.
//
// About 2.5 minutes (a /16 at the default 1,000 probes/s); BECKON_BENCH_SCAN_AUTO16=1 adds `auto`
// over a whole /16 (about 4.5 minutes more). BECKON_BENCH_SCAN_RATES=5000,10000
// picks the rates of the explicit runs (default 1000,5000,10000).
import { canBuildLab, hasCommand, Lab } from '../test/lab/lab.js';
import {
  arpRequests,
  FAR_IP,
  FAR_IP_20,
  prepareScanLab,
  type ScanLabOptions,
  scanTopology,
} from '../test/lab/scan.js';
import { runScan } from '../test/lab/scan-run.js';
import { median, printTable } from './lib/process.js';

const RATES = (process.env.BECKON_BENCH_SCAN_RATES ?? '1000,5000,10000').split(',').map(Number);

async function withScanLab<T>(options: ScanLabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const lab = new Lab();
  try {
    await lab.build(scanTopology(options));
    prepareScanLab(lab, options);
    return await fn(lab);
  } finally {
    lab.destroy();
  }
}

/** Starts `beckon serve` in the middle and far segments. */
async function startServers(lab: Lab): Promise<void> {
  for (const name of ['middle', 'far']) {
    const server = lab.host(name).beckon('serve', '--http-port', '8080');
    await server.waitFor(/\[OK\] Listening on/, 30_000);
  }
}

/** One row: setup, rate, wire rate (steady median, max window), ratio, far found, run, documented. */
async function measure(label: string, options: ScanLabOptions, scan: object): Promise<string[]> {
  return withScanLab(options, async (lab) => {
    await startServers(lab);
    const client = lab.host('client');
    const onLink = options.clientPrefix === 20;
    const arpsBefore = arpRequests(client);
    const run = await runScan(client, onLink ? client : lab.host('router'), scan, 330_000);
    const arps = arpRequests(client) - arpsBefore;
    const start = run.trace.find((e) => e.type === 'scan-start');
    const rate = Number(start?.rate ?? Number.NaN);
    const addresses = Number(start?.addresses ?? Number.NaN);
    const steady = run.rate.windows.slice(1, -1);
    const wire = median(steady);
    const far = run.found.find((s) => s.ip === (onLink ? FAR_IP_20 : FAR_IP));
    const auto = start?.auto === true;
    const documented = (addresses / rate) * 1000 + 1000 + (auto ? 1000 : 0);
    const found = run.found.map((s) => `${s.ip.split('.').slice(2, 3)}:${s.via}`).join(' ');
    return [
      label,
      String(rate),
      String(Math.round(wire)),
      String(Math.round(Math.max(...steady))),
      (wire / rate).toFixed(3),
      far ? (far.at / 1000).toFixed(1) : 'not found',
      (run.ms / 1000).toFixed(1),
      (documented / 1000).toFixed(1),
      String(arps),
      found,
    ];
  });
}

export async function run(): Promise<void> {
  const title = '## Subnet scan in the lab (a /16 cut into /24 segments behind a router)';
  if (!canBuildLab() || !hasCommand('nft')) {
    console.log(`\n${title}\n\nskipped: needs root with iproute2, network namespaces and nft`);
    return;
  }
  console.log(`\n${title}\n`);
  const rows: string[][] = [];
  for (const rate of RATES) {
    rows.push(await measure(`explicit 10.20.0.0/16`, {}, { scan: '10.20.0.0/16', scanRate: rate }));
  }
  rows.push(
    await measure('auto (client 10.20.1.10/20, on-link)', { clientPrefix: 20 }, { scan: 'auto' }),
  );
  // About 4.5 minutes more: the whole /16 on-link at the held 256 probes/s.
  if (process.env.BECKON_BENCH_SCAN_AUTO16 === '1') {
    rows.push(
      await measure('auto (client 10.20.1.10/16, routed)', { clientPrefix: 16 }, { scan: 'auto' }),
    );
  }
  printTable(
    [
      'setup',
      'rate/s',
      'wire/s (median 1 s window)',
      'wire/s (max window)',
      'wire / rate',
      'far found s',
      'run s',
      'documented s',
      'ARP requests',
      'found (3rd octet:via)',
    ],
    rows,
  );
}
