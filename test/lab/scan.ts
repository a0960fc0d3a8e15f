/**
 * The subnet-scan lab (issue 18): a /16 cut into /24 segments behind one router, the corporate
 * "10.20.0.0/16 on paper, /24 broadcast domains" network.
 *
 * - `client` in 10.20.1.0/24 (its own segment), with a /24 address, or with `clientPrefix: 16`
 *   the /16 address 10.20.1.10/16 that makes the segmented-network check fire. With the /16 the
 *   client would take every 10.20.x.y for on-link and ask ARP for each: `arp: 'proxy'` builds
 *   that (the router answers for the segments it routes, proxy ARP on its client leg), but Linux
 *   then holds each probe until its ARP resolves or fails (3 s), and a socket's send buffer holds
 *   about 256 of them, so a scan crawls at about 85 probes/s (measured: 1,794 probes in 20 s).
 *   The default, `arp: 'routes'`, keeps the /16 address and routes the rest of the /16 through
 *   the router (two /17 routes, more specific than the /16), so probes to other segments leave
 *   to the router's MAC address as on a /24 client;
 * - `middle` (10.20.7.10) and `far` (10.20.255.10, the farthest /24 from the client's) in
 *   segments of their own, where `beckon serve` runs;
 * - `outsider` (198.51.100.20), on a segment with a public address, for the refusal checks;
 * - `router`, with a leg in each segment. Addresses of the /16 that no segment holds go to a
 *   blackhole route, so the router neither asks ARP nor answers with ICMP for the 65,000 empty
 *   addresses of a scan (as a real router with a discard route would); it answers ARP (proxy)
 *   only for the segments it routes to.
 *
 * The nftables table `scan` in the router counts the datagrams to the discovery port that reach
 * it from the client, and the same table in the client those that leave it (and a table `scanarp`
 * its ARP requests): {@link probeCount} reads either, and {@link sampleProbeRate} turns it into
 * probes per second on the wire.
 */
import type { TestContext } from 'node:test';
import { type Lab, type LabHost, startLab, type Topology } from './lab.js';

/** The scanned network. */
export const SCAN_NET = '10.20.0.0/16';
/** The client's address. */
export const CLIENT_IP = '10.20.1.10';
/** The server in a middle segment. */
export const MIDDLE_IP = '10.20.7.10';
/** The server in the farthest segment of the /16 from the client's 10.20.1.0/24. */
export const FAR_IP = '10.20.255.10';
/** With `clientPrefix: 20`: the server in the farthest segment of the client's /20. */
export const FAR_IP_20 = '10.20.15.10';
/** A host with a public address, behind the same router. */
export const OUTSIDER_IP = '198.51.100.20';

/** How the client is configured: its prefix length, and whether a server runs in `far`. */
export interface ScanLabOptions {
  /**
   * 24: the client's own /24 (explicit scans); 16: the /16 on paper; 20: a /20 on paper
   * (10.20.0.0/20, whose farthest segment, 10.20.15.0/24, then holds the far server): `auto`
   * scans the client's subnet, and an on-link subnet at most at 256 probes/s (the neighbour
   * table), which a /16 would need 4.3 minutes for.
   */
  readonly clientPrefix?: 16 | 20 | 24;
  /**
   * With `clientPrefix` 16 or 20, how the client reaches the other segments: `'routes'` (only
   * with 16: through the router, as a /24 client) or `'proxy'` (ARP for each address, answered
   * by the router for the routed segments, as on a real network configured so). Every address
   * that answers ARP holds a neighbour entry in the client for at least 5 s, and Linux keeps at
   * most 1,024 for all namespaces together: at the on-link rate (256/s) two /24 segments that
   * answer, on top of the ~768 entries waiting for the empty addresses, overflowed the table and
   * the kernel dropped the probe to the farthest server about one run in two; so with 20 the
   * servers' segments are /28s. @default 'routes' with 16, 'proxy' with 20
   */
  readonly arp?: 'routes' | 'proxy';
  /** The discovery port the router counts datagrams to. @default 9999 */
  readonly port?: number;
}

/**
 * Counts the client's datagrams to the discovery port as they enter the router, before routing
 * (the blackhole route drops most of them there).
 */
const counters = (port: number) => `
table inet scan {
  counter probes {}
  chain prerouting {
    type filter hook prerouting priority 0; policy accept;
    iifname "c0" udp dport ${port} counter name probes
  }
}`;

/** The scan lab's topology (see the module comment). */
export function scanTopology(options: ScanLabOptions = {}): Topology {
  const prefix = options.clientPrefix ?? 24;
  const far = prefix === 20 ? 15 : 255;
  // With the /20 client, whose scan asks ARP for every address, the servers' segments are /28s:
  // the router answers ARP (proxy) for 14 addresses each, not 254 (see ScanLabOptions.arp).
  const segment = prefix === 20 ? 28 : 24;
  return {
    router: {
      router: true,
      interfaces: {
        c0: { segment: 'seg1', address: '10.20.1.1/24' },
        m0: { segment: 'seg7', address: `10.20.7.1/${segment}` },
        f0: { segment: 'segfar', address: `10.20.${far}.1/${segment}` },
        p0: { segment: 'public', address: '198.51.100.1/24' },
      },
    },
    client: {
      interfaces: { eth0: { segment: 'seg1', address: `${CLIENT_IP}/${prefix}` } },
      gateway: '10.20.1.1',
    },
    middle: {
      interfaces: { eth0: { segment: 'seg7', address: `${MIDDLE_IP}/${segment}` } },
      gateway: '10.20.7.1',
    },
    far: {
      interfaces: { eth0: { segment: 'segfar', address: `10.20.${far}.10/${segment}` } },
      gateway: `10.20.${far}.1`,
    },
    outsider: {
      interfaces: { eth0: { segment: 'public', address: `${OUTSIDER_IP}/24` } },
      gateway: '198.51.100.1',
    },
  };
}

/** Routes, ARP and counters of a lab built from {@link scanTopology} with the same options. */
export function prepareScanLab(lab: Lab, options: ScanLabOptions = {}): void {
  const prefix = options.clientPrefix ?? 24;
  const router = lab.host('router');
  // The empty part of the /16 is dropped without ARP or ICMP.
  router.ip('route', 'add', 'blackhole', SCAN_NET);
  const arp = options.arp ?? (prefix === 16 ? 'routes' : 'proxy');
  if (prefix !== 24 && arp === 'proxy') {
    // The client takes the whole /16 for on-link: the router answers its ARP requests for the
    // addresses it routes elsewhere, and forwards what it gets.
    router.writeProc('sys/net/ipv4/conf/c0/proxy_arp', '1');
  } else if (prefix === 16) {
    // Its own /24 on the link, the rest of the /16 through the router.
    const client = lab.host('client');
    client.ip('route', 'add', '10.20.1.0/24', 'dev', 'eth0', 'src', CLIENT_IP);
    client.ip('route', 'add', '10.20.0.0/17', 'via', '10.20.1.1');
    client.ip('route', 'add', '10.20.128.0/17', 'via', '10.20.1.1');
  }
  router.nft(counters(options.port ?? 9999));
  lab.host('client').nft(clientCounters(options.port ?? 9999));
}

/**
 * Counts the client's datagrams to the discovery port as they leave its IP layer (before ARP:
 * on an on-link range they are the probes sent, whether or not a neighbour answers), and the
 * ARP requests it sends.
 */
const clientCounters = (port: number) => `
table inet scan {
  counter probes {}
  chain postrouting {
    type filter hook postrouting priority 0; policy accept;
    oifname "eth0" udp dport ${port} counter name probes
  }
}
table arp scanarp {
  counter arps {}
  chain output {
    type filter hook output priority 0; policy accept;
    arp operation request counter name arps
  }
}`;

/** ARP requests the client sent so far. */
export function arpRequests(client: LabHost): number {
  const match = /counter arps \{\s*packets (\d+)/.exec(client.nftList());
  if (!match) throw new Error('no "arps" counter in the client');
  return Number(match[1]);
}

/**
 * Builds the scan lab for `t` (torn down when it ends), or undefined when the machine cannot
 * build a lab (see {@link startLab}).
 */
export async function startScanLab(
  t: TestContext,
  options: ScanLabOptions = {},
): Promise<Lab | undefined> {
  const lab = await startLab(t, scanTopology(options));
  if (lab) prepareScanLab(lab, options);
  return lab;
}

/**
 * Datagrams to the discovery port counted so far: in the router, those that entered it from the
 * client; in the client, those that left its IP layer.
 */
export function probeCount(host: LabHost): number {
  const match = /counter probes \{\s*packets (\d+)/.exec(host.nftList());
  if (!match) throw new Error(`no "probes" counter in ${host.name}`);
  return Number(match[1]);
}

/** Probes per second on the wire, per sampling window, while `running` has not settled. */
export interface ProbeRate {
  /** Probes counted in each full window, divided by the window's measured length. */
  readonly windows: number[];
  /** All probes counted while sampling, over the whole sampled time. */
  readonly mean: number;
  readonly total: number;
}

/**
 * Samples {@link probeCount} every `windowMs` until `running` settles (or `maxWindows` windows:
 * the loop is bounded), and returns the rate of each full window.
 */
export async function sampleProbeRate(
  router: LabHost,
  running: Promise<unknown>,
  windowMs = 1000,
  maxWindows = 600,
): Promise<ProbeRate> {
  let settled = false;
  void running.finally(() => {
    settled = true;
  });
  const windows: number[] = [];
  const first = { count: probeCount(router), at: performance.now() };
  let last = first;
  for (let i = 0; i < maxWindows && !settled; i++) {
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    if (settled) break; // a partial window at the end says nothing about the rate
    const now = { count: probeCount(router), at: performance.now() };
    windows.push(((now.count - last.count) * 1000) / (now.at - last.at));
    last = now;
  }
  const end = { count: probeCount(router), at: performance.now() };
  const total = end.count - first.count;
  return { windows, mean: (total * 1000) / (end.at - first.at), total };
}
