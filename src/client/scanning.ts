/**
 * The subnet-scan part of a discovery run (docs/beyond-one-lan.md, "Subnet scan"): when to
 * scan (`scan` ranges at once; `'auto'` once broadcast found nothing on a segmented network),
 * the run's deadline around it, and what the probes send. The probes leave on the run's `scan`
 * channel, whose replies the engine handles like any other (so every check applies); the
 * engine (src/client/engine.ts) hands this class a narrow {@link ScanHost}.
 */
import type { RemoteInfo } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { BoundedMap } from '../bounded-map.js';
import { detectSegmentedNetwork } from '../diagnostics/segmented.js';
import type { NetworkInterface } from '../network/interfaces.js';
import { parseIPv4 } from '../network/ipv4.js';
import { selectInterfaces } from '../network/select.js';
import { warnOnce } from '../options.js';
import type { Channel, Destination } from './channels.js';
import type { EngineDependencies } from './engine.js';
import type { DiscoverSettings } from './options.js';
import type { BelievedReply, ClientProtocol } from './protocol.js';
import {
  autoRange,
  findOnLinkRange,
  onLinkAddresses,
  onLinkRate,
  ScanPlan,
  type ScanRange,
  scanDuration,
} from './scan-plan.js';
import { Scanner, type ScanProgress } from './scanner.js';

/**
 * `scan: 'auto'` looks at what broadcast found after this long, or half the timeout if that is
 * shorter (at the timeout itself the run would be over).
 */
export const AUTO_SCAN_AFTER_MS = 1000;
/** Replies still awaited after the last probe. */
export const SCAN_GRACE_MS = 1000;
/** A probe's request is renewed this often (a fresh nonce or token). */
const REQUEST_LIFETIME_MS = 100;
/** Servers found by a scan that later rounds and refresh queries ask, at most. */
const MAX_SCAN_DESTINATIONS = 4096;
/** Probes whose send time is kept, for the RTT of their answers: the latest. */
const MAX_SEND_TIMES = 8192;

/** What scanning needs from its run. */
export interface ScanHost {
  readonly settings: DiscoverSettings;
  readonly protocol: ClientProtocol;
  readonly deps: EngineDependencies;
  interfaces(): readonly NetworkInterface[];
  channels(): readonly Channel[];
  /** Servers found so far. */
  found(): number;
  /** Whether a server was found on the LAN (by broadcast, the group or a target), not a registry. */
  foundOnLan(): boolean;
  /** Ends the run `ms` from now; `Infinity`: not until set again. Not called when watching. */
  deadline(ms: number): void;
  later(ms: number, fn: () => void): void;
  guarded(doing: string, fn: () => void): void;
  log(level: 'debug' | 'warn', text: string): void;
}

/** The scan of one run: started with the run, stopped with it. */
export class Scanning {
  /** Servers the scan found: the scan channel's destinations on later rounds. */
  readonly destinations: Destination[] = [];
  readonly #host: ScanHost;
  readonly #asked = new Set<string>();
  /** When the latest probes went out, by address (`performance.now()`). */
  readonly #sentAt = new BoundedMap<string, number>(MAX_SEND_TIMES);
  /** What was scanned: only its addresses are asked again. */
  #plan: ScanPlan | undefined;
  #scanner: Scanner | undefined;
  #started = 0;
  #stopped = false;

  constructor(host: ScanHost) {
    this.#host = host;
  }

  /** The run is open: an explicit scan starts now, `'auto'` looks again in a second. */
  start(): void {
    const { scan, timeout } = this.#host.settings;
    if (scan === undefined || this.#stopped) return;
    this.#started = performance.now();
    if (scan !== 'auto') {
      this.#begin(scan, false);
      return;
    }
    this.#host.later(Math.min(AUTO_SCAN_AFTER_MS, timeout / 2), () =>
      this.#host.guarded('starting the scan', () => this.#auto()),
    );
  }

  /** The run ended: no more probes. */
  stop(): void {
    this.#stopped = true;
    const scanner = this.#scanner;
    if (!scanner) return;
    this.#scanner = undefined;
    scanner.stop();
    const progress = scanner.progress();
    if (progress.probed < progress.total) this.#traceDone(progress, false);
  }

  /**
   * A reply came on the scan channel. Its source, if the scan probed it, is asked again on
   * later rounds (and by a watcher's refresh queries); in plain mode a plain answer is followed
   * by one extended request, so that a beckon server's result gets its name and instance id.
   * A source outside the ranges is not asked: a forged reply must not aim requests elsewhere.
   */
  replied(reply: BelievedReply, remote: RemoteInfo): void {
    const to = remote.address;
    const { settings } = this.#host;
    const ip = parseIPv4(to);
    if (ip === undefined || !this.#plan?.contains(ip)) return;
    if (this.#asked.has(to) || this.#asked.size >= MAX_SCAN_DESTINATIONS) return;
    this.#asked.add(to);
    const plain = settings.mode === 'plain';
    this.destinations.push({ to, identify: plain ? false : settings.identify });
    if (!plain || !settings.identify) return;
    this.destinations.push({ to, identify: true });
    if (reply.metadata !== undefined) return;
    const request = this.#host.protocol.request(this.#host.deps.clock.now(), true);
    this.#channel()?.socket.send(request, settings.port, to, (error) => {
      if (error) this.#host.log('debug', `Asking ${to} to identify failed: ${error.message}`);
    });
  }

  /** When the probe to `address` went out, if it was one of the latest. */
  sentAt(address: string): number | undefined {
    return this.#sentAt.get(address);
  }

  #channel(): Channel | undefined {
    return this.#host.channels().find((c) => c.via === 'scan' && !c.failed);
  }

  /** `'auto'`: scans the segmented subnets of the interfaces asked on, if nothing was found. */
  #auto(): void {
    if (this.#stopped) return;
    const { trace } = this.#host.deps;
    // A registry's results say nothing of this LAN: only what broadcast found skips the scan.
    if (this.#host.foundOnLan()) {
      trace({ type: 'scan-skipped', reason: 'found', detail: 'broadcast found servers' });
      return;
    }
    const { ranges, interfaces } = autoScanRanges(this.#host.interfaces(), this.#host.settings);
    if (ranges.length === 0) {
      const detail =
        'no interface asked on is on a segmented network (a private subnet larger than a /24: see beckon doctor)';
      this.#host.log('debug', `Not scanning: ${detail}`);
      trace({ type: 'scan-skipped', reason: 'not-segmented', detail });
      return;
    }
    this.#begin(ranges, true, interfaces);
  }

  #begin(ranges: readonly ScanRange[], auto: boolean, interfaces: readonly string[] = []): void {
    const { settings, deps } = this.#host;
    let channel = this.#channel();
    if (!channel) {
      const detail = 'the scan socket could not be opened';
      this.#host.log('warn', `Not scanning: ${detail}`);
      deps.trace({ type: 'scan-skipped', reason: 'no-socket', detail });
      return;
    }
    const own = this.#host
      .interfaces()
      .map((iface) => parseIPv4(iface.address))
      .filter((ip): ip is number => ip !== undefined);
    const plan = new ScanPlan(ranges, own);
    this.#plan = plan;
    const rate = this.#rate(ranges);
    deps.trace({
      type: 'scan-start',
      ranges: ranges.map((r) => r.text),
      addresses: plan.total,
      rate,
      auto,
      interfaces,
    });
    this.#deadline(plan, rate);
    let request: Buffer | undefined;
    let made = 0;
    const scanner = new Scanner(plan, rate, {
      batch: () => {
        const now = performance.now();
        channel = this.#channel() ?? channel; // a watcher reopens its channels
        if (channel) channel.lastSend = now;
        if (request && now - made < REQUEST_LIFETIME_MS) return;
        try {
          request = this.#host.protocol.request(deps.clock.now(), false);
          made = now;
        } catch (error) {
          // User code (the clock) threw in a timer: the scan stops, the run goes on.
          this.#giveUp(scanner, error);
        }
      },
      send: (ip, done) => {
        this.#sentAt.set(ip, performance.now());
        // No request (its making failed, and the scan is stopping): nothing goes out.
        if (request) channel?.socket.send(request, settings.port, ip, done);
      },
      progress: (p) => {
        const fields = { probed: p.probed, total: p.total, leftMs: p.leftMs, rate: p.rate };
        deps.trace({ type: 'scan-progress', ...fields, found: this.#host.found() });
      },
      failed: (ip, error) => {
        this.#host.log('debug', `Scan probe to ${ip} failed: ${error.message}`);
        const { port } = settings;
        const fields = { channel: 'scan', family: 'IPv4', from: '0.0.0.0', to: ip, port } as const;
        deps.trace({
          type: 'send',
          ...fields,
          bytes: request?.length ?? 0,
          round: 0,
          error: error.message,
        });
      },
      done: (p) => {
        this.#scanner = undefined;
        this.#traceDone(p, true);
        this.#ended();
      },
    });
    this.#scanner = scanner;
    scanner.start();
  }

  /** The scan cannot go on (`error`): one warning, the scan stops and the run's deadline is back. */
  #giveUp(scanner: Scanner, error: unknown): void {
    if (this.#scanner !== scanner) return;
    this.#scanner = undefined;
    scanner.stop();
    this.#host.log('warn', `Scan stopped: ${String(error)}`);
    this.#traceDone(scanner.progress(), false);
    this.#ended();
  }

  /** The scan is over: without a `timeout`, the run ends at its usual one or soon. */
  #ended(): void {
    const { settings, deps } = this.#host;
    if (deps.watch || settings.timeoutGiven) return;
    const usual = this.#started + settings.timeout - performance.now();
    this.#host.deadline(Math.max(usual, SCAN_GRACE_MS));
  }

  /**
   * `scanRate`, or less for a range on a local interface's subnet, whose probes each need a
   * neighbour entry: faster than the table allows, the kernel drops probes without an error.
   */
  #rate(ranges: readonly ScanRange[]): number {
    const asked = this.#host.settings.scanRate;
    const onLink = findOnLinkRange(ranges, this.#host.interfaces());
    const limit = onLink === undefined ? undefined : neighbourLimit();
    if (!onLink || limit === undefined || onLinkRate(limit) >= asked) return asked;
    // No more on-link addresses than the on-link rate allows in one second (the client's own /24
    // in a routed /16) never fill the table, even all at once: slowing the whole range down for
    // them would only slow the routed rest.
    if (onLinkAddresses(ranges, this.#host.interfaces()) <= onLinkRate(limit)) return asked;
    const rate = onLinkRate(limit);
    this.#host.log(
      'debug',
      `Scanning at ${rate}/s rather than ${asked}/s: ${onLink.range.text} is on ${onLink.interface}'s subnet, so every probe needs a neighbour (ARP) entry, and this host keeps at most ${limit} (net.ipv4.neigh.default.gc_thresh3); faster, the kernel would drop probes without an error`,
    );
    return rate;
  }

  /**
   * Without a `timeout`, the run lasts until the scan is done (plus {@link SCAN_GRACE_MS}); with
   * one too short for it, a warning says how much it covers.
   */
  #deadline(plan: ScanPlan, rate: number): void {
    const { settings, deps } = this.#host;
    if (deps.watch) return;
    if (!settings.timeoutGiven) {
      this.#host.deadline(Number.POSITIVE_INFINITY);
      return;
    }
    const needed = scanDuration(plan.total, rate);
    const left = this.#started + settings.timeout - performance.now();
    if (needed + SCAN_GRACE_MS <= left) return;
    const covered = Math.max(0, Math.min(plan.total, Math.floor((left / 1000) * rate)));
    const number = (n: number) => n.toLocaleString('en-US');
    const seconds = (ms: number) => `${number(Math.round(ms / 100) / 10)} s`;
    warnOnce(
      deps.logger,
      `Scanning ${number(plan.total)} addresses at ${number(rate)}/s needs ${seconds(needed)}; the timeout of ${seconds(settings.timeout)} covers about ${number(covered)} of them (leave the timeout out to scan them all)`,
    );
  }

  #traceDone(progress: ScanProgress, complete: boolean): void {
    this.#host.deps.trace({
      type: 'scan-done',
      probed: progress.probed,
      total: progress.total,
      failed: progress.failed,
      found: this.#host.found(),
      ms: progress.elapsedMs,
      complete,
    });
  }
}

/**
 * What `scan: 'auto'` scans: for each interface asked on that the segmented-network check
 * flags (src/diagnostics/segmented.ts), its subnet, at most the /16 around its address.
 */
export function autoScanRanges(
  interfaces: readonly NetworkInterface[],
  settings: Pick<DiscoverSettings, 'include' | 'exclude' | 'port'>,
): { ranges: ScanRange[]; interfaces: string[] } {
  const { selected } = selectInterfaces(interfaces, settings.include, settings.exclude);
  const ranges = new Map<string, ScanRange>();
  const names: string[] = [];
  for (const finding of detectSegmentedNetwork(selected, { port: settings.port })) {
    const ip = parseIPv4(finding.address);
    if (ip === undefined) continue;
    const range = autoRange(ip, finding.prefix);
    if (!ranges.has(range.text)) ranges.set(range.text, range);
    names.push(finding.interface);
  }
  return { ranges: [...ranges.values()], interfaces: names };
}

/** The neighbour table's hard limit on Linux (`gc_thresh3`); undefined elsewhere. */
function neighbourLimit(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const value = Number(readFileSync('/proc/sys/net/ipv4/neigh/default/gc_thresh3', 'utf8'));
    return Number.isInteger(value) && value > 0 ? value : 1024;
  } catch {
    return 1024;
  }
}
