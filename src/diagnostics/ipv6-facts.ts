/**
 * What Linux says about IPv6 and multicast on this host: /proc/net/if_inet6 (every IPv6 address
 * with its DAD state, down links too), the `disable_ipv6` and `addr_gen_mode` settings, and the
 * multicast snooping settings of bridges. {@link parseIfInet6} is pure; the readers take the
 * /proc and /sys roots so tests can point them elsewhere. Empty or undefined elsewhere than Linux.
 */
import { existsSync, readFileSync } from 'node:fs';
import { formatIPv6 } from '../network/ipv6.js';

/** One line of /proc/net/if_inet6. */
export interface Inet6Entry {
  readonly interface: string;
  /** RFC 5952, without zone. */
  readonly address: string;
  readonly value: bigint;
  readonly prefix: number;
  /**
   * Duplicate address detection has not finished: the address cannot be used yet (it can for
   * sending only when it is also optimistic, which beckon does not rely on).
   */
  readonly tentative: boolean;
  /** Duplicate address detection found another host using the address: it is never used. */
  readonly dadFailed: boolean;
}

// IFA_F_* flags of linux/if_addr.h, as the fifth column of /proc/net/if_inet6 prints them.
const IFA_F_DADFAILED = 0x08;
const IFA_F_TENTATIVE = 0x40;

/**
 * Parses /proc/net/if_inet6: `fe8000000000000050fd33fffe0151af 03 40 20 80     eth0` (address,
 * link index, prefix length, scope, flags, name, all hexadecimal). Lines that do not fit are
 * skipped.
 */
export function parseIfInet6(text: string): Inet6Entry[] {
  const result: Inet6Entry[] = [];
  for (const line of text.split('\n')) {
    const [hex, , prefix, , flags, name] = line.trim().split(/\s+/);
    if (!hex || !/^[0-9a-fA-F]{32}$/.test(hex) || !prefix || !flags || !name) continue;
    const value = BigInt(`0x${hex}`);
    const bits = Number.parseInt(flags, 16);
    result.push({
      interface: name,
      address: formatIPv6({ value, zone: undefined }),
      value,
      prefix: Number.parseInt(prefix, 16),
      tentative: (bits & IFA_F_TENTATIVE) !== 0,
      dadFailed: (bits & IFA_F_DADFAILED) !== 0,
    });
  }
  return result;
}

/**
 * IPv6 on the host as a whole: `on`; `disabled` (`net.ipv6.conf.all.disable_ipv6 = 1`, which
 * also turns it off on every link); `absent` (no /proc/net/if_inet6: a kernel without IPv6, or
 * booted with `ipv6.disable=1`); `unknown` (no /proc: not Linux).
 */
export type HostIPv6State = 'on' | 'disabled' | 'absent' | 'unknown';

/** How a link makes its link-local address (`addr_gen_mode`); `none` makes none. */
export type AddrGenMode = 'eui64' | 'none' | 'stable-privacy' | 'random';

const ADDR_GEN_MODES: Record<string, AddrGenMode> = {
  '0': 'eui64',
  '1': 'none',
  '2': 'stable-privacy',
  '3': 'random',
};

/** IPv6 settings of one link, undefined where they cannot be read. */
export interface LinkIPv6Settings {
  /** `net.ipv6.conf.<link>.disable_ipv6 = 1`. */
  readonly disabled: boolean | undefined;
  readonly addrGenMode: AddrGenMode | undefined;
}

/** Multicast settings of a Linux bridge. */
export interface BridgeMulticast {
  /** `multicast_snooping`: the bridge forwards a group only to ports that reported it. */
  readonly snooping: boolean;
  /** `multicast_querier`: the bridge itself sends the queries that keep memberships alive. */
  readonly querier: boolean;
}

/** Reads the facts above; each part can be replaced in tests. */
export interface IPv6FactsReader {
  readonly host: () => HostIPv6State;
  readonly addresses: () => readonly Inet6Entry[] | undefined;
  readonly link: (name: string) => LinkIPv6Settings;
  /** Undefined for a link that is no bridge. */
  readonly bridge: (name: string) => BridgeMulticast | undefined;
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The readers of this host's /proc and /sys (or of `roots`, in tests). */
export function ipv6FactsReader(roots: { proc?: string; sys?: string } = {}): IPv6FactsReader {
  const proc = roots.proc ?? '/proc';
  const sys = roots.sys ?? '/sys';
  const safe = (name: string) => name !== '' && !name.includes('/') && name !== '..';
  return {
    host: () => {
      if (!existsSync(`${proc}/net`)) return 'unknown';
      if (!existsSync(`${proc}/net/if_inet6`)) return 'absent';
      return readText(`${proc}/sys/net/ipv6/conf/all/disable_ipv6`) === '1' ? 'disabled' : 'on';
    },
    addresses: () => {
      const text = readText(`${proc}/net/if_inet6`);
      return text === undefined ? undefined : parseIfInet6(text);
    },
    link: (name) => {
      if (!safe(name)) return { disabled: undefined, addrGenMode: undefined };
      const conf = `${proc}/sys/net/ipv6/conf/${name}`;
      const disabled = readText(`${conf}/disable_ipv6`);
      return {
        disabled: disabled === undefined ? undefined : disabled === '1',
        addrGenMode: ADDR_GEN_MODES[readText(`${conf}/addr_gen_mode`) ?? ''],
      };
    },
    bridge: (name) => {
      if (!safe(name)) return undefined;
      const dir = `${sys}/class/net/${name}/bridge`;
      const snooping = readText(`${dir}/multicast_snooping`);
      const querier = readText(`${dir}/multicast_querier`);
      if (snooping === undefined || querier === undefined) return undefined;
      return { snooping: snooping === '1', querier: querier === '1' };
    },
  };
}
