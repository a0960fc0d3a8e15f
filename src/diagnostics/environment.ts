/** Facts about where this host runs that change how discovery behaves: containers, WSL, routes. */
import { existsSync, readFileSync } from 'node:fs';
import { formatIPv4 } from '../network/ipv4.js';
import type { Env } from '../options.js';
import { LITTLE_ENDIAN, procWord } from './proc-net.js';

/** The container runtime this process runs in, if any. */
export interface ContainerFacts {
  readonly inContainer: boolean;
  /** What gave it away: `/.dockerenv`, `/run/.containerenv`, `$container`, a cgroup, Kubernetes. */
  readonly evidence: string | undefined;
}

/** Windows Subsystem for Linux, if this is it. */
export interface WslFacts {
  readonly inWsl: boolean;
  /** 1 (shares Windows' network stack) or 2 (a VM with its own). */
  readonly version: 1 | 2 | undefined;
  /**
   * WSL 2's networking: `mirrored` (the VM shares Windows' interfaces) or `nat` (it sits behind
   * a private NAT).
   */
  readonly mode: 'nat' | 'mirrored' | undefined;
}

/** The IPv4 default route, if any. */
export interface DefaultRoute {
  readonly interface: string;
  readonly gateway: string;
}

/** Reads a file, or undefined. */
export type FileReader = (path: string) => string | undefined;

const readText: FileReader = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Detects a container from the usual marks runtimes leave. */
export function detectContainer(
  env: Env,
  read: FileReader = readText,
  exists: (path: string) => boolean = existsSync,
): ContainerFacts {
  const found = (evidence: string): ContainerFacts => ({ inContainer: true, evidence });
  if (exists('/.dockerenv')) return found('/.dockerenv');
  if (exists('/run/.containerenv')) return found('/run/.containerenv');
  if (env.container) return found(`container=${env.container}`);
  if (env.KUBERNETES_SERVICE_HOST) return found('KUBERNETES_SERVICE_HOST');
  const cgroup = /docker|kubepods|containerd|libpod|lxc/.exec(read('/proc/1/cgroup') ?? '');
  if (cgroup) return found(`/proc/1/cgroup mentions ${cgroup[0]}`);
  return { inContainer: false, evidence: undefined };
}

/**
 * Detects WSL from the kernel release: WSL 2 kernels say `microsoft-standard` (or `WSL2`), WSL 1
 * says `Microsoft`. Mirrored networking gives the WSL 2 VM a `loopback0` link and Windows' own
 * addresses; NAT mode gives one `eth0` behind a private network.
 */
export function detectWsl(
  interfaceNames: readonly string[],
  env: Env,
  read: FileReader = readText,
): WslFacts {
  const release = read('/proc/sys/kernel/osrelease') ?? '';
  const inWsl = /microsoft|wsl/i.test(release) || env.WSL_DISTRO_NAME !== undefined;
  if (!inWsl) return { inWsl, version: undefined, mode: undefined };
  if (!/microsoft-standard|wsl2/i.test(release)) return { inWsl, version: 1, mode: undefined };
  return { inWsl, version: 2, mode: interfaceNames.includes('loopback0') ? 'mirrored' : 'nat' };
}

/**
 * The IPv4 default route from the text of /proc/net/route (Linux): the one that is up with the
 * lowest metric. Pure. Undefined when there is none; `null` when the table could not be read
 * (another OS). The gateway is `0.0.0.0` for a device route (a VPN or PPP link).
 */
export function parseDefaultRoute(
  table: string | undefined,
  littleEndian = LITTLE_ENDIAN,
): DefaultRoute | undefined | null {
  if (table === undefined) return null;
  let best: { route: DefaultRoute; metric: number } | undefined;
  for (const line of table.split('\n').slice(1)) {
    const [name, destination, gateway = '', flags = '0', , , metric = '0', mask] = line
      .trim()
      .split(/\s+/);
    if (!name || destination !== '00000000' || mask !== '00000000') continue;
    if ((Number.parseInt(flags, 16) & RTF_UP) === 0) continue;
    const route = { interface: name, gateway: formatIPv4(procWord(gateway, littleEndian)) };
    if (!best || Number(metric) < best.metric) best = { route, metric: Number(metric) };
  }
  return best?.route;
}

const RTF_UP = 0x1;

/** The default route of this host's network namespace. */
export function readDefaultRoute(read: FileReader = readText): DefaultRoute | undefined | null {
  return parseDefaultRoute(read('/proc/net/route'));
}
