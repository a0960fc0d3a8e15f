import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveDiscoverSettings } from '../../src/client/options.js';
import {
  findOnLinkRange,
  onLinkRate,
  parseScan,
  ScanPlan,
  type ScanRange,
} from '../../src/client/scan-plan.js';
import { Scanner, type ScanProgress } from '../../src/client/scanner.js';
import { autoScanRanges } from '../../src/client/scanning.js';
import { InvalidOptionError } from '../../src/errors.js';
import type { NetworkInterface } from '../../src/network/interfaces.js';
import { formatIPv4, parseIPv4 } from '../../src/network/ipv4.js';

const ip = (text: string) => parseIPv4(text) ?? Number.NaN;
const plan = (ranges: string[], own: string[] = []) =>
  new ScanPlan(parseScan('scan', ranges) as ScanRange[], own.map(ip));
const list = (p: ScanPlan) => [...p.addresses()].map(formatIPv4);

function iface(address: string, prefix: number, more: Partial<NetworkInterface> = {}) {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const value = ip(address);
  return {
    name: 'eth0',
    address,
    netmask: formatIPv4(mask),
    prefix,
    broadcast: formatIPv4((value | ~mask) >>> 0),
    loopback: false,
    linkLocal: false,
    up: true,
    class: 'physical',
    ...more,
  } as NetworkInterface;
}

describe('scan plan: validation', () => {
  const refused = (value: unknown, option: string, pattern: RegExp) =>
    assert.throws(
      () => parseScan('scan', value),
      (error: unknown) =>
        error instanceof InvalidOptionError &&
        error.option === option &&
        pattern.test(error.message),
    );

  it('takes CIDRs up to a /16, single addresses and auto', () => {
    assert.equal(parseScan('scan', 'auto'), 'auto');
    assert.equal(parseScan('scan', ['auto']), 'auto');
    const ranges = parseScan('scan', ['10.20.0.0/16', '10.30.5.7', ' 192.168.1.77/24 ']);
    assert.deepEqual(
      (ranges as readonly ScanRange[]).map((r) => r.text),
      ['10.20.0.0/16', '10.30.5.7', '192.168.1.0/24'],
    );
  });

  it('refuses a range larger than a /16, naming the option, the value and what is allowed', () => {
    refused('10.0.0.0/15', 'scan', /10\.0\.0\.0\/15.*at most a \/16.*131,072/);
    refused(['10.0.0.0/8'], 'scan', /at most a \/16/);
  });

  it('refuses IPv6 ranges with the reason', () => {
    refused('fd00::/64', 'scan', /fd00::\/64.*IPv4 ranges only.*cannot be scanned.*registry/);
  });

  it('refuses malformed entries, auto among ranges, and an empty list', () => {
    refused('10.0.0/16', 'scan', /IPv4 CIDRs/);
    refused('10.0.0.0/33', 'scan', /IPv4 CIDRs/);
    refused('server.example', 'scan', /IPv4 CIDRs/);
    refused(['auto', '10.0.0.0/24'], 'scan', /"auto" alone/);
    refused([], 'scan', /IPv4 CIDRs/);
    refused(42, 'scan', /IPv4 CIDRs/);
  });

  it('caps the total at four /16s', () => {
    assert.doesNotThrow(() =>
      parseScan('scan', ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16']),
    );
    refused(
      ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16', '10.5.0.0/32'],
      'scan',
      /at most 262,144 addresses/,
    );
  });

  it('resolves the option before the environment, and the original variable to auto', () => {
    const scanOf = (options: Parameters<typeof resolveDiscoverSettings>[0]) =>
      resolveDiscoverSettings(options).scan;
    assert.equal(scanOf({ env: {} }), undefined);
    assert.equal(scanOf({ env: { DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN: 'yes' } }), 'auto');
    assert.equal(scanOf({ env: { DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN: 'off' } }), undefined);
    const ranges = scanOf({ env: { DISCOVERY_CLIENT_SUBNET_RANGES: '10.1.0.0/24, 10.2.0.0/24' } });
    assert.deepEqual(
      (ranges as readonly ScanRange[]).map((r) => r.text),
      ['10.1.0.0/24', '10.2.0.0/24'],
    );
    const env = {
      DISCOVERY_CLIENT_SUBNET_RANGES: '10.1.0.0/24',
      DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN: '0',
    };
    assert.equal(scanOf({ env }), undefined);
    assert.equal(
      scanOf({ env: { DISCOVERY_CLIENT_SUBNET_RANGES: '10.1.0.0/24' }, scan: 'auto' }),
      'auto',
    );
    assert.throws(
      () => scanOf({ env: { DISCOVERY_CLIENT_SUBNET_RANGES: '10.0.0.0/12' } }),
      /Invalid DISCOVERY_CLIENT_SUBNET_RANGES: .*10\.0\.0\.0\/12/,
    );
    assert.throws(
      () => scanOf({ env: { DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN: 'maybe' } }),
      /DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN/,
    );
    assert.throws(() => scanOf({ env: {}, scan: '10.0.0.0/24', family: 'IPv6' }), /Invalid family/);
  });

  it('checks scanRate and notes whether a timeout was given', () => {
    assert.equal(resolveDiscoverSettings({ env: {} }).scanRate, 1000);
    assert.equal(resolveDiscoverSettings({ env: {}, scanRate: 50 }).scanRate, 50);
    assert.throws(() => resolveDiscoverSettings({ env: {}, scanRate: 0 }), /Invalid scanRate/);
    assert.throws(() => resolveDiscoverSettings({ env: {}, scanRate: 10_001 }), /10000/);
    assert.equal(resolveDiscoverSettings({ env: {} }).timeoutGiven, false);
    assert.equal(resolveDiscoverSettings({ env: {}, timeout: 3000 }).timeoutGiven, true);
    const env = { DISCOVERY_CLIENT_TIMEOUT: '3' };
    assert.equal(resolveDiscoverSettings({ env }).timeoutGiven, true);
  });
});

describe('scan plan: order and skipping', () => {
  it('skips network, broadcast and own addresses, and counts what it probes', () => {
    const p = plan(['10.0.0.0/24'], ['10.0.0.7']);
    const addresses = list(p);
    assert.equal(p.total, 253);
    assert.equal(addresses.length, 253);
    assert.equal(addresses[0], '10.0.0.1');
    assert.equal(addresses.at(-1), '10.0.0.254');
    assert.ok(!addresses.includes('10.0.0.7'));
    assert.ok(!addresses.includes('10.0.0.0') && !addresses.includes('10.0.0.255'));
    // /31 and /32 have no network or broadcast address.
    assert.deepEqual(list(plan(['10.0.0.8/31', '10.0.0.20'])), [
      '10.0.0.8',
      '10.0.0.9',
      '10.0.0.20',
    ]);
  });

  it('probes the /24 blocks nearest the host first, its own first, ascending inside each', () => {
    const p = plan(['10.20.0.0/16'], ['10.20.5.9']);
    const addresses = list(p);
    assert.equal(p.total, 65_533);
    assert.equal(addresses.length, 65_533);
    assert.equal(new Set(addresses).size, addresses.length);
    assert.deepEqual(addresses.slice(0, 3), ['10.20.5.0', '10.20.5.1', '10.20.5.2']);
    assert.equal(addresses[254], '10.20.5.255'); // .9 skipped: 255 addresses in the block
    assert.equal(addresses[255], '10.20.4.0'); // 10.20.4.0/24 and 10.20.6.0/24 tie: lower first
    assert.equal(addresses[255 + 256], '10.20.6.0');
    assert.equal(addresses[255 + 512], '10.20.3.0');
    assert.equal(addresses.at(-1), '10.20.255.254');
    assert.ok(!addresses.includes('10.20.0.0') && !addresses.includes('10.20.255.255'));
  });

  it('orders several ranges by their distance to any own address; overlaps are probed once', () => {
    const p = plan(['10.9.0.0/24', '10.1.0.0/23', '10.1.1.0/24'], ['10.9.0.1', '127.0.0.1']);
    const addresses = list(p);
    assert.equal(addresses[0], '10.9.0.2');
    // 10.1.1.0/24 is nearer 10.9.0.1 than 10.1.0.0/24; 10.1.1.0 is that range's network address.
    assert.equal(addresses[253], '10.1.1.1');
    assert.equal(addresses[253 + 254], '10.1.0.1');
    assert.equal(p.total, 253 + 509);
    assert.equal(addresses.length, p.total);
    assert.equal(new Set(addresses).size, p.total);
  });

  it('does not make the addresses before they are asked for', () => {
    const p = plan(['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16']);
    assert.equal(p.total, 4 * 65_534);
    const started = performance.now();
    const first = p.addresses().next().value;
    assert.equal(formatIPv4(first ?? 0), '10.1.0.1');
    assert.ok(performance.now() - started < 100);
  });
});

describe('scan plan: on-link ranges', () => {
  it('finds a range on the subnet of an interface other than loopback', () => {
    const ranges = parseScan('scan', ['10.30.0.0/24', '10.20.8.0/24']) as ScanRange[];
    const interfaces = [
      iface('127.0.0.1', 8, { name: 'lo', loopback: true }),
      iface('10.20.5.7', 16),
    ];
    assert.deepEqual(findOnLinkRange(ranges, interfaces), { range: ranges[1], interface: 'eth0' });
    // A range larger than the subnet overlaps it too.
    const wide = parseScan('scan', '10.20.0.0/16') as ScanRange[];
    assert.equal(findOnLinkRange(wide, [iface('10.20.5.7', 24)])?.interface, 'eth0');
    // Routed ranges, and loopback, are not on-link.
    assert.equal(findOnLinkRange(ranges.slice(0, 1), interfaces), undefined);
    const loopback = parseScan('scan', '127.0.0.0/24') as ScanRange[];
    assert.equal(findOnLinkRange(loopback, interfaces), undefined);
  });

  it('keeps an on-link scan to a quarter of the neighbour table a second', () => {
    assert.equal(onLinkRate(1024), 256);
    assert.equal(onLinkRate(8192), 2048);
    assert.equal(onLinkRate(2), 1);
  });
});

describe('scan plan: auto', () => {
  const settings = (include: string[] = []) =>
    resolveDiscoverSettings({ env: {}, interfaces: include });

  it('scans the subnet of a segmented interface, at most the /16 around its address', () => {
    const interfaces = [
      iface('10.20.5.9', 16),
      iface('172.16.40.3', 12, { name: 'eth1' }),
      iface('192.168.1.5', 24, { name: 'wlan0' }),
      iface('10.99.0.5', 20, { name: 'br-x', class: 'container' }),
    ];
    const { ranges, interfaces: names } = autoScanRanges(interfaces, settings());
    assert.deepEqual(
      ranges.map((r) => r.text),
      ['10.20.0.0/16', '172.16.0.0/16'],
    );
    assert.deepEqual(names, ['eth0', 'eth1']);
    const only = autoScanRanges(interfaces, settings(['eth1']));
    assert.deepEqual(
      only.ranges.map((r) => r.text),
      ['172.16.0.0/16'],
    );
    const twenty = autoScanRanges([iface('10.20.17.9', 20)], settings());
    assert.deepEqual(
      twenty.ranges.map((r) => r.text),
      ['10.20.16.0/20'],
    );
  });

  it('scans nothing where no interface is segmented', () => {
    const { ranges } = autoScanRanges(
      [iface('192.168.0.5', 16), iface('10.1.1.5', 24)],
      settings(),
    );
    assert.deepEqual(ranges, []);
  });
});

/** A scanner on a fake clock: each tick advances it by `step` ms (late timers too). */
function fakeRun(
  total: string[],
  rate: number,
  options: {
    step?: (tick: number) => number;
    fail?: (ip: string, n: number) => string | undefined;
  } = {},
) {
  let now = 0;
  let timer: (() => void) | undefined;
  const sends: { ip: string; at: number }[] = [];
  const tries = new Map<string, number>();
  const progress: ScanProgress[] = [];
  let done: ScanProgress | undefined;
  const failed: string[] = [];
  const scanner = new Scanner(plan(total), rate, {
    now: () => now,
    schedule: (fn) => {
      timer = fn;
      return () => {
        timer = undefined;
      };
    },
    send: (ip, callback) => {
      sends.push({ ip, at: now });
      const n = (tries.get(ip) ?? 0) + 1;
      tries.set(ip, n);
      const code = options.fail?.(ip, n);
      queueMicrotask(() => callback(code ? Object.assign(new Error(code), { code }) : null));
    },
    progress: (p) => progress.push(p),
    failed: (ip) => failed.push(ip),
    done: (p) => {
      done = p;
    },
  });
  return {
    sends,
    progress,
    failed,
    scanner,
    done: () => done,
    async run(maxTicks = 100_000) {
      scanner.start();
      for (let tick = 0; tick < maxTicks && timer; tick++) {
        await Promise.resolve();
        now += options.step?.(tick) ?? 10;
        const fn = timer;
        timer = undefined;
        fn();
      }
    },
  };
}

/** The most sends in any window of `ms` (windows starting at each send). */
function busiestWindow(sends: readonly { at: number }[], ms: number): number {
  let most = 0;
  for (let i = 0, j = 0; i < sends.length; i++) {
    while ((sends[j]?.at ?? 0) <= (sends[i]?.at ?? 0) - ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('scanner pacing', () => {
  it('probes each address once at the rate, never more than the rate in any 100 ms', async () => {
    const run = fakeRun(['10.0.0.0/22'], 1000);
    await run.run();
    assert.equal(run.sends.length, 1022);
    assert.equal(new Set(run.sends.map((s) => s.ip)).size, 1022);
    assert.ok(busiestWindow(run.sends, 100) <= 100, `busiest ${busiestWindow(run.sends, 100)}`);
    const last = run.sends.at(-1)?.at ?? 0;
    assert.ok(last >= 1000 && last <= 1100, `last send at ${last} ms`);
    assert.equal(run.done()?.probed, 1022);
    assert.ok(run.progress.length >= 4);
  });

  it('does not catch up in a burst after a late timer', async () => {
    // Every tenth timer fires 300 ms late.
    const run = fakeRun(['10.0.0.0/22'], 2000, { step: (tick) => (tick % 10 === 9 ? 300 : 10) });
    await run.run();
    assert.equal(run.sends.length, 1022);
    assert.ok(busiestWindow(run.sends, 100) <= 200, `busiest ${busiestWindow(run.sends, 100)}`);
  });

  it('reaches rates that are not a multiple of 10 a second', async () => {
    const run = fakeRun(['10.0.0.0/27'], 15);
    await run.run();
    assert.equal(run.sends.length, 30);
    const last = run.sends.at(-1)?.at ?? 0;
    assert.ok(last >= 1850 && last <= 2150, `30 probes at 15/s: the last at ${last} ms`);
    assert.ok(busiestWindow(run.sends, 100) <= 2);
  });

  it('keeps slow rates slow', async () => {
    const run = fakeRun(['10.0.0.0/29'], 2);
    await run.run();
    assert.equal(run.sends.length, 6);
    assert.ok(busiestWindow(run.sends, 500) <= 1);
    assert.ok((run.sends.at(-1)?.at ?? 0) >= 2500);
  });

  it('halves the rate on ENOBUFS and tries the address again; other errors are counted', async () => {
    const run = fakeRun(['10.0.0.0/23'], 1000, {
      fail: (ip, n) =>
        ip === '10.0.0.50' && n <= 2 ? 'ENOBUFS' : ip === '10.0.1.9' ? 'EPERM' : undefined,
    });
    await run.run();
    const to50 = run.sends.filter((s) => s.ip === '10.0.0.50');
    assert.equal(to50.length, 3);
    assert.deepEqual(run.failed, ['10.0.1.9']);
    assert.equal(run.done()?.failed, 1);
    assert.equal(run.done()?.probed, 510);
    assert.ok(
      run.progress.some((p) => p.rate === 500),
      'slowed to half',
    );
    // 510 addresses at 1000/s would take 510 ms; the slow-down makes it longer.
    assert.ok((run.sends.at(-1)?.at ?? 0) > 600);
  });

  it('with real timers: never more than the rate in any 100 ms of send calls', async () => {
    const times: number[] = [];
    const scanned = plan(['10.0.0.0/22']);
    await new Promise<void>((resolve) => {
      const scanner = new Scanner(scanned, 2000, {
        send: (_ip, done) => {
          times.push(performance.now());
          setImmediate(() => done(null));
        },
        done: () => resolve(),
      });
      scanner.start();
    });
    assert.equal(times.length, 1022);
    assert.ok(
      busiestWindow(
        times.map((at) => ({ at })),
        100,
      ) <= 200,
    );
    const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
    assert.ok(span >= 450, `1022 probes at 2000/s in ${span} ms`);
  });

  it('sends nothing more once stopped', async () => {
    const run = fakeRun(['10.0.0.0/22'], 1000, {});
    run.scanner.start();
    run.scanner.stop();
    const count = run.sends.length;
    await run.run(50);
    assert.equal(run.sends.length, count);
    assert.ok(count <= 1);
  });
});
