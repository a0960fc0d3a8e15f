/**
 * Multicast group memberships of this host, from Linux's /proc/net/igmp6 and /proc/net/igmp:
 * whether the responder joined beckon's groups (docs/ipv6.md, "Multicast groups") on a link.
 * The parsers are pure; {@link readMemberships} reads the files.
 */
import { readFileSync } from 'node:fs';
import { formatIPv4 } from '../network/ipv4.js';
import { formatIPv6 } from '../network/ipv6.js';
import { LITTLE_ENDIAN, procWord } from './proc-net.js';

/** One group joined on one link. */
export interface Membership {
  /** The link's name, e.g. `eth0`. */
  readonly interface: string;
  /** The group: RFC 5952 IPv6 (`ff12::6265:636b`) or dotted IPv4 (`239.255.98.107`). */
  readonly group: string;
  readonly family: 'IPv4' | 'IPv6';
}

/**
 * Parses /proc/net/igmp6: one line per link and group,
 * `3    eth0            ff12000000000000000000006265636b     1 00000004 0`
 * (index, name, group in 32 hex digits, users, flags, timer). Lines that do not fit are skipped.
 */
export function parseIgmp6(text: string): Membership[] {
  const result: Membership[] = [];
  for (const line of text.split('\n')) {
    const [, name, hex] = line.trim().split(/\s+/);
    if (!name || !hex || !/^[0-9a-fA-F]{32}$/.test(hex)) continue;
    result.push({
      interface: name,
      group: formatIPv6({ value: BigInt(`0x${hex}`), zone: undefined }),
      family: 'IPv6',
    });
  }
  return result;
}

/**
 * Parses /proc/net/igmp: a header, then per link a line `3\teth0      :     2      V3`
 * followed by one indented line per group, `\t\t\t\t6B62FFEF     1 0:00000000\t\t0`, the group
 * as the host-order word /proc/net prints (`6B62FFEF` is 239.255.98.107 on a little-endian
 * host).
 */
export function parseIgmp(text: string, littleEndian = LITTLE_ENDIAN): Membership[] {
  const result: Membership[] = [];
  let link: string | undefined;
  for (const line of text.split('\n')) {
    const device = /^\d+\s+(\S+)\s*:/.exec(line);
    if (device) {
      link = device[1];
      continue;
    }
    const group = /^\s+([0-9a-fA-F]{8})\s/.exec(line)?.[1];
    if (link && group)
      result.push({
        interface: link,
        group: formatIPv4(procWord(group, littleEndian)),
        family: 'IPv4',
      });
  }
  return result;
}

/**
 * Every group joined on every link of this host (of this network namespace), IPv6 then IPv4.
 * Undefined where /proc/net/igmp6 and /proc/net/igmp cannot be read (not Linux). `root` is
 * replaced in tests.
 */
export function readMemberships(root = '/proc'): Membership[] | undefined {
  const read = (file: string) => {
    try {
      return readFileSync(`${root}/net/${file}`, 'utf8');
    } catch {
      return undefined; // no IPv6 in the kernel: there is no igmp6
    }
  };
  const igmp6 = read('igmp6');
  const igmp = read('igmp');
  if (igmp6 === undefined && igmp === undefined) return undefined;
  return [...parseIgmp6(igmp6 ?? ''), ...parseIgmp(igmp ?? '')];
}
