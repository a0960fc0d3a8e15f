/**
 * For the group lab tests: a library responder inside a host, a raw request to beckon's groups
 * from another, and the group memberships the kernel lists.
 */
import type { LabProcess } from '../helpers/process.js';
import type { LabHost } from './lab.js';

/** Starts test/lab/drivers/responder.ts in `host` with `options` and resolves once it listens. */
export async function startResponderIn(host: LabHost, options: object): Promise<LabProcess> {
  const running = host.spawn(process.execPath, [
    '--import',
    'tsx',
    'test/lab/drivers/responder.ts',
    JSON.stringify(options),
  ]);
  await running.waitFor(/^ready \d+$/m, 30_000);
  return running;
}

/** Warnings the responder driver printed so far. */
export function warningsOf(running: LabProcess): { code: string; text: string }[] {
  return running.stdout
    .split('\n')
    .filter((line) => line.startsWith('{"warning"'))
    .map((line) => (JSON.parse(line) as { warning: { code: string; text: string } }).warning);
}

/**
 * Sends one extended request from `host` to beckon's group over `ifname` (IPv6:
 * ff12::6265:636b%ifname; IPv4: 239.255.98.107 out of `local`, its address there), no broadcast,
 * or with `unicast` from `local` to that IPv6 address, and returns the answers: their source and
 * the address they advertise.
 */
export async function askGroup(
  host: LabHost,
  family: 4 | 6,
  ifname: string,
  local = '-',
  unicast?: string,
): Promise<{ from: string; address: string }[]> {
  const run = await host.script(
    'test/lab/drivers/group-request.ts',
    [String(family), ifname, '9999', local, '1500', ...(unicast ? [unicast] : [])],
    { timeoutMs: 60_000 },
  );
  if (run.status !== 0) throw new Error(`group-request failed:\n${run.stdout}${run.stderr}`);
  return run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { from: string; address: string });
}

const IPV6_GROUP_HEX = 'ff12000000000000000000006265636b';
// /proc/net/igmp prints each group as a 32-bit number in host (little-endian) order.
const IPV4_GROUP_HEX = '6B62FFEF';

/**
 * The interfaces of `host` that are members of beckon's groups, from /proc/net/igmp6 and
 * /proc/net/igmp (what `beckon doctor` can read), sorted.
 */
export function groupMembers(host: LabHost): { ipv6: string[]; ipv4: string[] } {
  const ipv6 = host
    .readProc('net/igmp6')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[2] === IPV6_GROUP_HEX)
    .map((fields) => fields[1] as string);
  const ipv4: string[] = [];
  let device = '';
  for (const line of host.readProc('net/igmp').split('\n')) {
    const header = /^\d+\s+(\S+)\s*:/.exec(line);
    if (header) device = header[1] as string;
    else if (line.trim().split(/\s+/)[0] === IPV4_GROUP_HEX) ipv4.push(device);
  }
  return { ipv6: ipv6.sort(), ipv4: ipv4.sort() };
}
