/**
 * The network lab: builds hosts, subnets and routers out of Linux network namespaces from a short
 * description, runs commands inside the hosts, and always tears everything down.
 *
 * Each host is a namespace. Each segment (a LAN, a switch) is a bridge inside one extra "switch"
 * namespace, and every host interface is a veth pair whose other end is a port of that bridge.
 * Nothing is created in the namespace the tests run in, so the lab never touches the machine's
 * real interfaces, and names only need to be unique per run (pid + random suffix).
 *
 * @example
 * const lab = await startLab(t, {
 *   server: { interfaces: { eth0: { segment: 'lan', address: '10.1.0.10/24' } } },
 *   client: { interfaces: { eth0: { segment: 'lan', address: '10.1.0.20/24' } } },
 * });
 * if (!lab) return; // skipped: no root or no namespaces (fails instead under BECKON_STRICT_TESTS)
 * const server = lab.host('server').beckon('serve', '--http-port', '8080');
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requirePrerequisite } from '../helpers/prerequisite.js';
import { LabProcess, type RunOptions, type RunResult, run } from '../helpers/process.js';

/** One interface of a host: the segment (bridge) it plugs into and its IPv4 address(es). */
export interface InterfaceSpec {
  segment: string;
  /** `a.b.c.d/prefix`; several for a secondary address. */
  address: string | string[];
}

/** A host: its interfaces by name (`eth0`...), its routes, and whether it forwards packets. */
export interface HostSpec {
  interfaces: Record<string, InterfaceSpec>;
  /** Default route via this address; none when absent (an offline LAN). */
  gateway?: string;
  /** Extra routes, e.g. `{ to: '10.5.2.0/24', via: '10.5.1.1' }`. */
  routes?: { to: string; via: string }[];
  /** Turn on IPv4 forwarding: the host is a router between its segments. */
  router?: boolean;
}

/** A topology: hosts by name. Segments are created from the names the interfaces use. */
export type Topology = Record<string, HostSpec>;

/** Options for a command run inside a host: it always runs from the repository root. */
export type HostRunOptions = Omit<RunOptions, 'cwd'>;

/** The repository root, for running the CLI and scripts from inside a host. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const live = new Set<Lab>();

/** A host of the lab: a network namespace with helpers to run things inside it. */
export class LabHost {
  constructor(
    readonly name: string,
    /** The namespace's real name. */
    readonly netns: string,
  ) {}

  /** Runs `ip` inside the host and returns its stdout; throws when it fails. */
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.netns, ...args], { encoding: 'utf8', stdio: 'pipe' });
  }

  /** Resolves once each of `interfaces` reports operstate UP; rejects after `timeoutMs`. */
  async waitUntilUp(interfaces: string[], timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const links = JSON.parse(this.ip('-j', 'link', 'show')) as {
        ifname: string;
        operstate: string;
      }[];
      const down = interfaces.filter(
        (name) => links.find((link) => link.ifname === name)?.operstate !== 'UP',
      );
      if (down.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${this.name}: ${down.join(', ')} not up`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** The host's IPv6 link-local address on `ifname` once duplicate address detection is over. */
  async linkLocal(ifname: string, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [link] = JSON.parse(this.ip('-j', '-6', 'addr', 'show', 'dev', ifname)) as {
        addr_info: { local: string; scope: string; tentative?: boolean }[];
      }[];
      const address = link?.addr_info.find((a) => a.scope === 'link' && !a.tentative);
      if (address) return address.local;
      if (Date.now() > deadline)
        throw new Error(`${this.name}: no link-local address on ${ifname}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Writes `value` to /proc/`path` as seen from inside the host (per-namespace settings). */
  writeProc(path: string, value: string): void {
    execFileSync('ip', ['netns', 'exec', this.netns, 'sh', '-c', `echo ${value} > /proc/${path}`]);
  }

  /** Reads /proc/`path` as seen from inside the host. */
  readProc(path: string): string {
    return execFileSync('ip', ['netns', 'exec', this.netns, 'cat', `/proc/${path}`], {
      encoding: 'utf8',
    }).trim();
  }

  /** Loads an nftables ruleset (text in `nft -f` syntax) into the host. */
  nft(ruleset: string): void {
    execFileSync('ip', ['netns', 'exec', this.netns, 'nft', '-f', '-'], {
      input: ruleset,
      stdio: 'pipe',
    });
  }

  /** The host's nftables ruleset, with counters. */
  nftList(): string {
    return execFileSync('ip', ['netns', 'exec', this.netns, 'nft', 'list', 'ruleset'], {
      encoding: 'utf8',
    });
  }

  /** Runs a command inside the host to completion, from the repository root. */
  run(command: string, args: string[], options: HostRunOptions = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.netns, command, ...args], { ...options, cwd: ROOT });
  }

  /** Starts a long-running command inside the host; teardown kills it if it still runs. */
  spawn(command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): LabProcess {
    return new LabProcess('ip', ['netns', 'exec', this.netns, command, ...args], {
      ...options,
      cwd: ROOT,
    });
  }

  /** Runs the built `beckon` CLI inside the host to completion. */
  beckonRun(args: string[], options: HostRunOptions = {}): Promise<RunResult> {
    return this.run(process.execPath, [`${ROOT}bin/beckon.js`, ...args], options);
  }

  /** Starts the built `beckon` CLI inside the host (e.g. `serve`). */
  beckon(...args: string[]): LabProcess {
    return this.spawn(process.execPath, [`${ROOT}bin/beckon.js`, ...args]);
  }

  /** Runs a TypeScript script (a driver that uses the library) inside the host. */
  script(path: string, args: string[], options: HostRunOptions = {}): Promise<RunResult> {
    return this.run(process.execPath, ['--import', 'tsx', `${ROOT}${path}`, ...args], options);
  }
}

/** A running topology. Use {@link startLab}; `destroy()` is idempotent and synchronous. */
export class Lab {
  readonly id = `beckon-lab-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly hosts = new Map<string, LabHost>();
  private readonly namespaces: string[] = [];
  private destroyed = false;

  /** The host called `name` in the topology. */
  host(name: string): LabHost {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`No host "${name}" in this lab`);
    return host;
  }

  /**
   * Builds the topology and waits until every interface is operationally up (the kernel reports
   * carrier up to a second after `ip link set up`, and Node lists only running interfaces).
   * On any failure everything created so far is removed.
   */
  async build(topology: Topology): Promise<this> {
    live.add(this);
    try {
      const switchNs = this.addNamespace(`${this.id}.switch`); // '.': no host's name collides
      const bridges = new Map<string, string>();
      const bridgeFor = (segment: string): string => {
        let bridge = bridges.get(segment);
        if (!bridge) {
          bridge = `br${bridges.size}`;
          ip('-n', switchNs, 'link', 'add', bridge, 'type', 'bridge');
          ip('-n', switchNs, 'link', 'set', bridge, 'up');
          bridges.set(segment, bridge);
        }
        return bridge;
      };
      let port = 0;
      for (const [name, spec] of Object.entries(topology)) {
        const host = new LabHost(name, this.addNamespace(`${this.id}-${name}`));
        this.hosts.set(name, host);
        host.ip('link', 'set', 'lo', 'up');
        for (const [ifname, iface] of Object.entries(spec.interfaces)) {
          const peer = `p${port++}`;
          host.ip('link', 'add', ifname, 'type', 'veth', 'peer', 'name', peer, 'netns', switchNs);
          ip('-n', switchNs, 'link', 'set', peer, 'master', bridgeFor(iface.segment));
          ip('-n', switchNs, 'link', 'set', peer, 'up');
          for (const address of [iface.address].flat()) {
            host.ip('addr', 'add', address, 'dev', ifname);
          }
          host.ip('link', 'set', ifname, 'up');
        }
        if (spec.router) host.writeProc('sys/net/ipv4/ip_forward', '1');
        for (const route of spec.routes ?? []) host.ip('route', 'add', route.to, 'via', route.via);
        if (spec.gateway) host.ip('route', 'add', 'default', 'via', spec.gateway);
      }
      for (const [name, spec] of Object.entries(topology)) {
        await this.host(name).waitUntilUp(Object.keys(spec.interfaces));
      }
    } catch (error) {
      this.destroy();
      throw error;
    }
    return this;
  }

  /**
   * Kills every process still running inside the lab's namespaces (all of them were started by
   * the lab, directly or not) and deletes the namespaces. Synchronous, so it also runs from an
   * exit or signal handler; safe to call twice.
   */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const netns of this.namespaces) {
      const pids = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', netns]);
    }
  }

  private addNamespace(netns: string): string {
    ip('netns', 'add', netns);
    this.namespaces.push(netns);
    return netns;
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'pipe' });
}

/** Whether this process can build a lab: root, iproute2, network namespaces. */
export function canBuildLab(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('ip', ['netns', 'list']).status === 0;
}

/** Whether `command` is on the PATH (inside a host too: hosts share the file system). */
export function hasCommand(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
}

/**
 * Builds `topology` for test `t` and destroys it when the test ends, fails, or the process is
 * interrupted. Returns undefined (after `t.skip`) when the machine cannot build a lab, except
 * under BECKON_STRICT_TESTS=1, where that fails the test.
 */
export async function startLab(t: TestContext, topology: Topology): Promise<Lab | undefined> {
  if (!requirePrerequisite(t, canBuildLab(), 'root with iproute2 and network namespaces')) {
    return undefined;
  }
  const lab = new Lab();
  t.after(() => lab.destroy());
  return lab.build(topology);
}

function destroyAll(): void {
  for (const lab of live) lab.destroy();
}

process.once('exit', destroyAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    destroyAll();
    process.kill(process.pid, signal);
  });
}
