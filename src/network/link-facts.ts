/** What Linux says about a network link, read from /sys/class/net. Empty elsewhere. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

/** Facts about one link; every field is undefined when it could not be read. */
export interface LinkFacts {
  /** ARP hardware type: 1 Ethernet, 772 loopback, 512 PPP, 65534 none (tun, WireGuard). */
  readonly type?: number | undefined;
  /** `DEVTYPE` from uevent: `wlan`, `bridge`, `wireguard`, `vlan`, `veth`... */
  readonly devtype?: string | undefined;
  /** Backed by a bus device (PCI, USB...), so a real card rather than a software link. */
  readonly hardware?: boolean | undefined;
  /** A Wi-Fi card. */
  readonly wireless?: boolean | undefined;
  /** A tun/tap device. */
  readonly tun?: boolean | undefined;
  /** Administratively up (`ip link set up`). */
  readonly adminUp?: boolean | undefined;
  /** Operational state: `up`, `down`, `dormant`, `lowerlayerdown`, `unknown`... */
  readonly operstate?: string | undefined;
  /** Has carrier: a cable, an associated access point, a bridge with a port up. */
  readonly carrier?: boolean | undefined;
}

/** Reads the facts of links from a sysfs directory; inject another one in tests. */
export type LinkFactsReader = (name: string) => LinkFacts;

const SYSFS_NET = '/sys/class/net';
const IFF_UP = 0x1;

/** Reads `/sys/class/net/<name>`; returns `{}` where there is none (macOS, Windows). */
export function readLinkFacts(name: string, root = SYSFS_NET): LinkFacts {
  const dir = `${root}/${name}`;
  if (name.includes('/') || !existsSync(dir)) return {};
  const text = (file: string) => {
    try {
      return readFileSync(`${dir}/${file}`, 'utf8').trim();
    } catch {
      return undefined; // carrier of a down link cannot be read (EINVAL)
    }
  };
  const number = (file: string) => {
    const value = text(file);
    return value === undefined || value === '' ? undefined : Number(value);
  };
  const flags = number('flags');
  const carrier = number('carrier');
  return {
    type: number('type'),
    devtype: /^DEVTYPE=(.*)$/m.exec(text('uevent') ?? '')?.[1],
    hardware: existsSync(`${dir}/device`),
    wireless: existsSync(`${dir}/wireless`) || existsSync(`${dir}/phy80211`),
    tun: existsSync(`${dir}/tun_flags`),
    adminUp: flags === undefined ? undefined : (flags & IFF_UP) !== 0,
    operstate: text('operstate'),
    carrier: carrier === undefined ? undefined : carrier === 1,
  };
}

/**
 * {@link readLinkFacts}, remembered per link for `maxAgeMs`. For readers that only need what a
 * link is (its class), not its state: the interface list that every discovery call and the
 * responder's poll read, where sysfs cost more than the rest of the call.
 */
export function rememberLinkFacts(maxAgeMs: number, read: LinkFactsReader): LinkFactsReader {
  const known = new Map<string, { facts: LinkFacts; at: number }>();
  return (name) => {
    const now = performance.now();
    const hit = known.get(name);
    if (hit && now - hit.at < maxAgeMs) return hit.facts;
    const facts = read(name);
    if (known.size >= 256) known.clear(); // links come and go (veth, tun): stay bounded
    known.set(name, { facts, at: now });
    return facts;
  };
}

/** The names of every link in sysfs, up or down; empty where there is no sysfs. */
export function listLinkNames(root = SYSFS_NET): string[] {
  try {
    return readdirSync(root).sort();
  } catch {
    return [];
  }
}
