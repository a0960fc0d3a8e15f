// Time to first result on a lab link: two network namespaces joined by a veth pair, `beckon
// serve` in one (with `--ipv6` for the IPv6 paths), the client in the other. A warm
// discoverOne() against the raw round trip of one request on a bare, bound socket, over IPv6
// (link-local only: unicast to the server's fe80:: address, and the group ff12::6265:636b),
// then over IPv4 on the same link (addresses added after the IPv6 runs). Needs root.
import type { LabProcess } from '../test/helpers/process.js';
import { canBuildLab, ROOT } from '../test/lab/lab.js';
import type { LabCase, LabOutcome, LabRequest } from './first-result-lab-client.js';
import { median, percentile, printTable } from './lib/process.js';
import { VethPair } from './lib/veth-pair.js';

const PORT = 9999;
const WARMUP = 50;
const RUNS = 300;
const SERVER4 = '10.78.0.1';
const CLIENT4 = '10.78.0.2';

function ipv6Cases(server: string): LabCase[] {
  return [
    {
      label: 'IPv6 unicast to fe80::…%eth0',
      options: { family: 'IPv6', targets: [`${server}%eth0`], broadcast: false },
      raw: { to: `${server}%eth0`, request: 'extended' },
      source: `${server}%eth0`,
    },
    {
      label: 'IPv6 group ff12::6265:636b on eth0',
      options: { family: 'IPv6', broadcast: true, interfaces: ['eth0'] },
      raw: { to: 'ff12::6265:636b%eth0', request: 'extended', multicastInterface: '::%eth0' },
      source: `${server}%eth0`,
    },
  ];
}

function ipv4Cases(): LabCase[] {
  return [
    {
      label: `IPv4 unicast to ${SERVER4}`,
      options: { family: 'IPv4', targets: [SERVER4], broadcast: false },
      raw: { to: SERVER4, request: 'plain' },
      source: SERVER4,
    },
    {
      // The extended request alone, as over IPv6: tells the cost of IPv6 from that of the format.
      label: `IPv4 unicast to ${SERVER4}, extended request`,
      options: { family: 'IPv4', targets: [SERVER4], broadcast: false, extended: true },
      raw: { to: SERVER4, request: 'extended' },
      source: SERVER4,
    },
    {
      label: 'IPv4 broadcast on eth0',
      options: { family: 'IPv4', broadcast: true, interfaces: ['eth0'] },
      raw: { to: '10.78.0.255', request: 'plain' },
      source: SERVER4,
    },
    {
      label: 'both families (defaults) on eth0',
      options: { broadcast: true, interfaces: ['eth0'] },
      raw: { to: '10.78.0.255', request: 'plain' },
      source: SERVER4,
    },
  ];
}

async function runClient(pair: VethPair, cases: LabCase[]): Promise<LabOutcome[]> {
  const request: LabRequest = { port: PORT, warmup: WARMUP, runs: RUNS, cases };
  const result = await pair.client.script(
    'bench/first-result-lab-client.ts',
    [JSON.stringify(request)],
    { timeoutMs: 300_000 },
  );
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.status !== 0 || !line.startsWith('[')) {
    throw new Error(`lab client failed (${result.status}): ${result.stderr}`);
  }
  return JSON.parse(line) as LabOutcome[];
}

/** Starts `beckon serve` in the server's namespace and waits until it listens. */
async function serve(pair: VethPair, flags: string[]): Promise<LabProcess> {
  // No rate limit (the client asks hundreds of times a second), no line per reply on stdout.
  const args = ['serve', '--port', String(PORT), '--http-port', '8000', '--rate-limit', '0'];
  const responder = pair.server.spawn(
    process.execPath,
    [`${ROOT}bin/beckon.js`, ...args, ...flags],
    {
      env: { ENABLE_LOGGING: 'false' },
    },
  );
  await responder.waitFor(/Listening on/);
  return responder;
}

export async function run(): Promise<void> {
  const title = `## Time to first result on a lab link (veth pair; median of ${RUNS} in process)`;
  if (!canBuildLab()) {
    console.log(`\n${title}\n\nskipped: needs root with iproute2 and network namespaces`);
    return;
  }
  const pair = await VethPair.create();
  try {
    const server6 = await pair.server.linkLocal('eth0');
    await pair.client.linkLocal('eth0'); // both sides past duplicate address detection
    // The IPv6 paths against `beckon serve --ipv6`; the IPv4 ones against the default
    // responder (both families), once the link has IPv4 addresses.
    let responder = await serve(pair, ['--ipv6']);
    const outcomes = await runClient(pair, ipv6Cases(server6));
    await responder.stop();
    pair.server.ip('addr', 'add', `${SERVER4}/24`, 'dev', 'eth0');
    pair.client.ip('addr', 'add', `${CLIENT4}/24`, 'dev', 'eth0');
    responder = await serve(pair, []);
    outcomes.push(...(await runClient(pair, ipv4Cases())));
    await responder.stop();

    console.log(`\n${title}\n`);
    const ms = (value: number) => value.toFixed(3);
    printTable(
      [
        'path',
        'discoverOne() median ms',
        'p95 ms',
        'raw round trip median ms',
        'p95 ms',
        'difference ms',
        'within 1 ms',
      ],
      outcomes.map((o) =>
        'unanswered' in o
          ? [o.label, 'not measured', '', '', '', '', `${o.unanswered}`]
          : [
              o.label,
              ms(median(o.ours)),
              ms(percentile(o.ours, 95)),
              ms(median(o.raw)),
              ms(percentile(o.raw, 95)),
              ms(median(o.ours) - median(o.raw)),
              median(o.ours) - median(o.raw) <= 1 ? 'yes' : 'no',
            ],
      ),
    );
    console.log('\nWhat one discoverOne() call sends (first round):\n');
    for (const o of outcomes) {
      if ('sends' in o) console.log(`- ${o.label}: ${o.sends.join('; ')}`);
    }
    if (outcomes.some((o) => 'unanswered' in o && o.label.includes('group'))) {
      console.log(
        '\nThe group was not answered: this build of the responder does not join ff12::6265:636b yet, so IPv6 is measured by unicast only.',
      );
    }
  } finally {
    pair.destroy();
  }
}
