/**
 * The differential suite's lab world: each host a network namespace, each LAN a bridge, each
 * responder, discovery and watcher a real process inside its host (the drivers of test/lab),
 * time the machine's.
 */
import type { TestContext } from 'node:test';
import type { LabProcess } from '../helpers/process.js';
import { discoverLib, discoverRepeatedly } from '../lab/beckon.js';
import { type LabHost, ROOT, startLab, type Topology } from '../lab/lab.js';
import { type EventLog, watchLib } from '../lab/presence.js';
import {
  gateways,
  type HostSpec,
  type WatchEvent,
  type World,
  type WorldHost,
  type WorldSpec,
  type WorldWatch,
} from './world.js';

const prefixOf = (cidr: string) => cidr.slice(cidr.indexOf('/'));

/** The lab topology of `spec`: routers forward, hosts route off-link through their gateway. */
function topology(spec: WorldSpec): Topology {
  const gateway = gateways(spec);
  const interfaces = (host: HostSpec) =>
    Object.fromEntries(
      Object.entries(host.interfaces).map(([ifname, iface]) => {
        const lan = spec.lans[iface.lan];
        if (!lan) throw new Error(`no LAN "${iface.lan}"`);
        return [ifname, { segment: iface.lan, address: `${iface.ipv4}${prefixOf(lan.ipv4)}` }];
      }),
    );
  const result: Topology = {};
  for (const [name, router] of Object.entries(spec.routers ?? {})) {
    result[name] = { interfaces: interfaces(router), router: true };
  }
  for (const [name, host] of Object.entries(spec.hosts)) {
    const via = gateway.get(name);
    result[name] = { interfaces: interfaces(host), ...(via ? { gateway: via } : {}) };
  }
  return result;
}

class LabWorldHost implements WorldHost {
  readonly #processes = new Set<LabProcess>();

  constructor(
    readonly host: LabHost,
    readonly spec: HostSpec,
    readonly lans: WorldSpec['lans'],
  ) {}

  async serve(options: Record<string, unknown>) {
    const child = this.host.spawn(process.execPath, [
      '--import',
      'tsx',
      `${ROOT}test/lab/drivers/responder.ts`,
      JSON.stringify(options),
    ]);
    this.#processes.add(child);
    await child.waitFor(/^ready \d+$/m, 30_000);
    return {
      stop: async () => {
        const { status } = await child.stop('SIGTERM');
        if (status !== 0) throw new Error(`the responder exited with ${status}:\n${child.stderr}`);
      },
    };
  }

  discover(options: Record<string, unknown> = {}) {
    return discoverLib(this.host, options);
  }

  discoverRepeatedly(options: Record<string, unknown>, count: number, parallel: number) {
    return discoverRepeatedly(this.host, options, count, parallel);
  }

  async watch(options: Record<string, unknown> = {}): Promise<WorldWatch> {
    const log = await watchLib(this.host, options);
    this.#processes.add(log.process);
    return new LabWatch(log);
  }

  setAddress(ifname: string, address: string): void {
    const iface = this.spec.interfaces[ifname];
    const lan = iface && this.lans[iface.lan];
    if (!lan) throw new Error(`no interface ${ifname}`);
    this.host.ip('-4', 'addr', 'flush', 'dev', ifname);
    this.host.ip('addr', 'add', `${address}${prefixOf(lan.ipv4)}`, 'dev', ifname);
  }

  setLink(ifname: string, up: boolean): void {
    this.host.ip('link', 'set', ifname, up ? 'up' : 'down');
  }

  linkLocal(ifname: string): Promise<string> {
    return this.host.linkLocal(ifname);
  }

  vanish(): void {
    for (const child of this.#processes) child.kill('SIGKILL');
    for (const ifname of Object.keys(this.spec.interfaces)) {
      this.host.ip('link', 'set', ifname, 'down');
    }
  }
}

class LabWatch implements WorldWatch {
  constructor(readonly log: EventLog) {}

  get events(): WatchEvent[] {
    return this.log.events;
  }

  next(test: (event: WatchEvent) => boolean, timeoutMs: number, from = 0) {
    return this.log.next(test, timeoutMs, from);
  }

  async close(): Promise<void> {
    await this.log.process.stop('SIGTERM');
  }
}

/** Builds `spec` as a lab; undefined (skipped, or failed under BECKON_STRICT_TESTS) without one. */
export async function startLabWorld(t: TestContext, spec: WorldSpec): Promise<World | undefined> {
  const lab = await startLab(t, topology(spec));
  if (!lab) return undefined;
  const hosts = new Map(
    Object.entries(spec.hosts).map(([name, host]) => [
      name,
      new LabWorldHost(lab.host(name), host, spec.lans),
    ]),
  );
  // IPv6 addresses (no duplicate address detection: they are unique by design), and every
  // link-local address usable before the scenario starts.
  const ipv6 = Object.values(spec.lans).some((lan) => lan.ipv6 !== undefined);
  for (const [name, host] of Object.entries(ipv6 ? { ...spec.routers, ...spec.hosts } : {})) {
    for (const [ifname, iface] of Object.entries(host.interfaces)) {
      const lan = spec.lans[iface.lan];
      if (iface.ipv6 && lan?.ipv6) {
        lab
          .host(name)
          .ip('addr', 'add', `${iface.ipv6}${prefixOf(lan.ipv6)}`, 'dev', ifname, 'nodad');
      }
      await lab.host(name).linkLocal(ifname);
    }
  }
  let rules = 0;
  return {
    mode: 'lab',
    host(name) {
      const host = hosts.get(name);
      if (!host) throw new Error(`no host "${name}"`);
      return host;
    },
    loss(lan, fraction) {
      // Dropped as it enters each host (router too) on the LAN: per receiving host, as in the
      // kit. UDP only: ARP and neighbour discovery go on.
      const table = `beckon_loss_${rules++}`;
      const perMille = Math.round(fraction * 1000);
      for (const [name, host] of Object.entries({ ...spec.routers, ...spec.hosts })) {
        const ifnames = Object.entries(host.interfaces)
          .filter(([, iface]) => iface.lan === lan)
          .map(([ifname]) => `"${ifname}"`);
        if (ifnames.length === 0) continue;
        lab.host(name).nft(`
table inet ${table} {
  chain prerouting {
    type filter hook prerouting priority -300; policy accept;
    iifname { ${ifnames.join(', ')} } meta l4proto udp numgen random mod 1000 < ${perMille} drop
  }
}`);
      }
    },
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    now: () => Date.now(),
  };
}
