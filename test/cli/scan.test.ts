/**
 * `beckon discover --scan`, the built CLI, scanning loopback ranges only (127.0.0.0/8 is this
 * host's): results via scan, the progress line on a terminal, --json streaming, Ctrl+C, and
 * the flag errors; and the "nothing found" advice on a segmented network.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainNothingFound } from '../../src/cli/nothing-found.js';
import { resolveDiscoverSettings } from '../../src/client/options.js';
import { describeAddress } from '../../src/network/interfaces.js';
import { BIN, beckon, startBeckon } from '../helpers/cli.js';
import { requirePrerequisite } from '../helpers/prerequisite.js';
import { LabProcess } from '../helpers/process.js';
import { trackResponders } from '../helpers/responders.js';
import { freeUdpPort, sleep } from '../helpers/udp.js';
import { hasCommand } from '../lab/lab.js';

const startResponder = trackResponders({ rateLimit: 0 });

/** A beckon responder on `address` (a loopback address), on a free port. */
async function serverAt(address: string, port?: number) {
  const chosen = port ?? (await freeUdpPort());
  await startResponder({ port: chosen, bindAddress: address, name: `at-${address}` });
  return chosen;
}

const scanFlags = (port: number, ...more: string[]) => [
  'discover',
  '--no-broadcast',
  '--port',
  String(port),
  ...more,
];

describe('beckon discover --scan', () => {
  it('finds a server by scanning, shows VIA scan, and streams --json as found', async () => {
    const port = await serverAt('127.0.0.40');
    const table = await beckon(scanFlags(port, '--scan', '127.0.0.0/26', '--scan-rate', '500'));
    assert.equal(table.code, 0, table.stderr);
    assert.match(
      table.stdout,
      /127\.0\.0\.40\s+8000\s+http:\/\/127\.0\.0\.40:8000\s+lo\s+\S+ ms\s+scan/,
    );
    assert.equal(table.stderr, ''); // not a terminal: no progress line
    const json = await beckon(
      scanFlags(port, '--scan', '127.0.0.32/27,127.0.0.200', '--json', '--timeout', '1.5'),
    );
    assert.equal(json.code, 0, json.stderr);
    const [line, ...rest] = json.stdout.trim().split('\n');
    assert.deepEqual(rest, []);
    const server = JSON.parse(line ?? '{}');
    assert.equal(server.ip, '127.0.0.40');
    assert.equal(server.via, 'scan');
  });

  it('--first stops at the first server, long before the scan would end', async () => {
    const port = await serverAt('127.0.0.3');
    // 253 addresses at 50/s: 5 s for the whole scan.
    const run = await beckon(
      scanFlags(port, '--scan', '127.0.0.0/24', '--scan-rate', '50', '-1', '--url'),
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'http://127.0.0.3:8000\n');
    assert.ok(run.ms < 3000, `took ${run.ms} ms`);
  });

  it('refuses bad ranges and rates, naming the flag and what is allowed', async () => {
    const big = await beckon(['discover', '--no-broadcast', '--scan', '10.0.0.0/8']);
    assert.equal(big.code, 2);
    assert.match(
      big.stderr,
      /Invalid --scan: "10\.0\.0\.0\/8" \(expected ranges of at most a \/16/,
    );
    const v6 = await beckon(['discover', '--no-broadcast', '--scan', 'fd00::/64']);
    assert.equal(v6.code, 2);
    assert.match(v6.stderr, /Invalid --scan: "fd00::\/64" \(expected IPv4 ranges only/);
    const rate = await beckon(['discover', '--no-broadcast', '--scan', 'auto', '--scan-rate', '0']);
    assert.equal(rate.code, 2);
    assert.match(rate.stderr, /--scan-rate must be an integer from 1 to 10000, got "0"/);
    const env = await beckon(['discover', '--no-broadcast', '--timeout', '0.2'], {
      DISCOVERY_CLIENT_SUBNET_RANGES: '10.0.0.0/12',
    });
    assert.equal(env.code, 2);
    assert.match(env.stderr, /Invalid DISCOVERY_CLIENT_SUBNET_RANGES: "10\.0\.0\.0\/12"/);
    const help = await beckon(['discover', '--help']);
    assert.match(help.stdout, /--scan CIDR\|IP\|auto/);
    assert.match(help.stdout, /--scan-rate N/);
    const watchHelp = await beckon(['watch', '--help']);
    assert.match(watchHelp.stdout, /--scan and --scan-rate scan once, at the start/);
  });

  it('on a terminal: a progress line rewritten in place', async (t) => {
    if (!requirePrerequisite(t, hasCommand('script'), 'script (util-linux), for a terminal'))
      return;
    const port = await serverAt('127.0.0.2');
    // 253 addresses at 40/s: over 6 s, stopped after the first progress lines.
    const command = [
      process.execPath,
      BIN,
      ...scanFlags(port, '--scan', '127.0.0.0/24', '--scan-rate', '40'),
    ].join(' ');
    const terminal = new LabProcess('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', TERM: 'xterm' },
      inheritEnv: false,
    });
    try {
      await terminal.waitFor(
        /Scanning 127\.0\.0\.0\/24: \d+ of 253 probed, 1 found, \d+ s left/,
        5000,
      );
      assert.match(
        terminal.stdout,
        /Searching for servers on UDP port \d+ \(until the scan is done\)\.\.\./,
      );
      assert.ok(
        terminal.stdout.includes(
          '\r\x1b[KScanning 127.0.0.0/24: 253 addresses at 40/s, about 7 s...',
        ),
        'the scan announced in place',
      );
      assert.ok(terminal.stdout.includes('\r\x1b[KScanning 127.0.0.0/24: '), 'rewritten in place');
    } finally {
      await terminal.stop('SIGKILL');
    }
  });

  it('--json prints a server as soon as the scan finds it, long before the scan ends', async () => {
    const port = await serverAt('127.0.0.2');
    // 253 addresses at 40/s: over 6 s; 127.0.0.2 is the first address probed.
    const cli = startBeckon(scanFlags(port, '--scan', '127.0.0.0/24', '--scan-rate', '40', '-j'));
    try {
      const started = performance.now();
      const [line] = await cli.waitFor(/^\{.*\}$/m, 5000);
      assert.ok(performance.now() - started < 3000);
      assert.equal(JSON.parse(line).via, 'scan');
      assert.ok(!cli.done, 'still scanning');
    } finally {
      cli.kill('SIGKILL');
    }
  });

  it('beckon watch --scan reports a scanned server up, via scan', async () => {
    const port = await serverAt('127.0.0.9');
    const announcePort = String(await freeUdpPort());
    const cli = startBeckon([
      ...['watch', '--json', '--no-broadcast', '--port', String(port)],
      ...['--announce-port', announcePort, '--scan', '127.0.0.8/29'],
    ]);
    try {
      const [line] = await cli.waitFor(/^\{"event":"up".*$/m, 5000);
      const event = JSON.parse(line);
      assert.equal(event.server.ip, '127.0.0.9');
      assert.equal(event.server.via, 'scan');
      cli.kill('SIGINT');
      assert.equal((await cli.exited).status, 130);
    } finally {
      cli.kill('SIGKILL');
    }
  });

  it('Ctrl+C (SIGINT) stops the scan and prints what was found', async () => {
    const port = await serverAt('127.0.0.2');
    const cli = startBeckon(scanFlags(port, '--scan', '127.0.0.0/24', '--scan-rate', '40'));
    try {
      await sleep(1000); // 127.0.0.2 is the first address probed
      cli.kill('SIGINT');
      const { status } = await cli.exited;
      assert.equal(status, 130);
      assert.match(cli.stderr, /Interrupted by SIGINT: 1 server found so far\./);
      assert.match(
        cli.stdout,
        /127\.0\.0\.2\s+8000\s+http:\/\/127\.0\.0\.2:8000\s+lo\s+\S+ ms\s+scan/,
      );
    } finally {
      cli.kill('SIGKILL');
    }
  });

  it('with TERM=dumb: the scan is announced on one plain line, with no escape sequences', async (t) => {
    if (!requirePrerequisite(t, hasCommand('script'), 'script (util-linux), for a terminal'))
      return;
    const port = await freeUdpPort();
    const command = [
      process.execPath,
      BIN,
      ...scanFlags(port, '--scan', '127.0.0.0/27', '--scan-rate', '100'),
    ].join(' ');
    const terminal = new LabProcess('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', TERM: 'dumb' },
      inheritEnv: false,
    });
    try {
      await terminal.waitFor(/No servers found/, 8000);
      assert.ok(!terminal.stdout.includes('\x1b'), JSON.stringify(terminal.stdout));
      assert.match(
        terminal.stdout,
        /\nScanning 127\.0\.0\.0\/27: 29 addresses at 100\/s, about 1 s\.\.\.\r?\n/,
      );
      assert.doesNotMatch(terminal.stdout, /probed/);
    } finally {
      await terminal.stop('SIGKILL');
    }
  });

  it('--scan auto scans nothing where no interface is segmented, and says why in --trace', async () => {
    const port = await freeUdpPort();
    const run = await beckon([
      ...scanFlags(port, '--scan', 'auto', '-i', 'lo', '--target', '127.0.0.1'),
      ...['--timeout', '1.2', '--trace'],
    ]);
    assert.equal(run.code, 1);
    // Only loopback is asked on (-i lo), whatever this host's other interfaces are.
    assert.match(
      run.stderr,
      /trace \+\d+\.\dms scan skipped: no interface asked on is on a segmented network/,
    );
    assert.doesNotMatch(run.stderr, /trace \+\S+ scan 127/);
  });
});

describe('"nothing found" on a segmented network points to the scan', () => {
  const eth0 = describeAddress('eth0', '10.20.5.7', 16, true, {});

  it('suggests --scan with the subnet and --scan auto', () => {
    const settings = resolveDiscoverSettings({ env: {} });
    const text = explainNothingFound(settings, [eth0]);
    assert.match(text, /Segmented network: broadcasts probably reach only part of your subnet\./);
    assert.match(
      text,
      /Or scan the subnet, one request per address \(see docs\/beyond-one-lan\.md\):/,
    );
    assert.match(
      text,
      /\n {2}beckon discover --scan 10\.20\.0\.0\/16 {4}\(about 4 min: on this host's subnet, 256 a second at most\)\n/,
    );
    assert.match(
      text,
      /\n {2}beckon discover --scan auto {4}\(scans it only when broadcast finds nothing\)/,
    );
  });

  it('after a scan, says that the scan found nothing either', () => {
    const settings = resolveDiscoverSettings({ env: {}, scan: '10.20.0.0/16' });
    const text = explainNothingFound(settings, [eth0]);
    assert.match(text, /This run scanned too: servers in other segments did not answer/);
    assert.doesNotMatch(text, /--scan auto/);
  });

  it('says nothing of scans where the network is not segmented', () => {
    const home = describeAddress('eth0', '192.168.1.7', 24, true, {});
    const text = explainNothingFound(resolveDiscoverSettings({ env: {} }), [home]);
    assert.doesNotMatch(text, /--scan auto|Segmented network|Or scan the subnet/);
    // The general advice names every way past a router.
    assert.match(text, /--target <ip\|cidr>\nor scan its subnet with --scan <cidr>; /);
    assert.match(text, /\n--registry etcd:\/\/host:2379 \(docs\/beyond-one-lan\.md\)\./);
    const asked = resolveDiscoverSettings({ env: {}, registry: 'etcd://127.0.0.1:2379' });
    const withRegistry = explainNothingFound(asked, [home]);
    assert.doesNotMatch(withRegistry, /read it with/);
    assert.match(withRegistry, /The registry etcd:\/\/127\.0\.0\.1:2379 was asked too/);
  });
});
