/**
 * The differential suite's kit world: `beckon/testing`'s simulated network, everything in this
 * process, time mocked (`mockTime`) and moved on by the world whenever a scenario waits, so a
 * 3 s lease takes milliseconds.
 */
import type { TestContext } from 'node:test';
import { createResponder, discover, discoverOne, type Server, watch } from '../../src/index.js';
import {
  createTestNetwork,
  type MockedTime,
  mockTime,
  type TestHost,
  type TestLan,
} from '../../src/testing/index.js';
import { type Repeated, repeat } from '../helpers/repeat.js';
import type {
  HostSpec,
  WatchEvent,
  World,
  WorldHost,
  WorldService,
  WorldSpec,
  WorldWatch,
} from './world.js';

/** How far the world moves time at most while waiting for one promise. */
const DRIVE_LIMIT_MS = 10 * 60_000;

/** Moves mocked time on, 10 ms at a time, until `promise` settles; then settles with it. */
async function drive<T>(time: MockedTime, promise: Promise<T>): Promise<T> {
  let settled = false;
  const done = () => {
    settled = true;
  };
  promise.then(done, done);
  const limit = time.elapsed() + DRIVE_LIMIT_MS;
  while (!settled) {
    if (time.elapsed() > limit) throw new Error(`still pending after ${DRIVE_LIMIT_MS} ms`);
    await time.advance(10);
  }
  return promise;
}

class KitWorldHost implements WorldHost {
  readonly #stops = new Set<() => Promise<void>>();

  constructor(
    readonly network: ReturnType<typeof createTestNetwork>,
    readonly host: TestHost,
    readonly spec: HostSpec,
    readonly time: MockedTime,
  ) {}

  async serve(options: Record<string, unknown>): Promise<WorldService> {
    const responder = createResponder({
      ...this.network.responderOptions(this.host),
      rateLimit: 0,
      ...options,
    });
    await drive(this.time, responder.start());
    const stop = () => responder.stop();
    this.#stops.add(stop);
    return {
      stop: async () => {
        this.#stops.delete(stop);
        await drive(this.time, stop());
      },
    };
  }

  discover(options: Record<string, unknown> = {}): Promise<Server[]> {
    return drive(this.time, discover({ ...this.network.clientOptions(this.host), ...options }));
  }

  discoverRepeatedly(
    options: Record<string, unknown>,
    count: number,
    parallel: number,
  ): Promise<Repeated> {
    const once = () => discoverOne({ ...this.network.clientOptions(this.host), ...options });
    return drive(this.time, repeat(once, count, parallel));
  }

  async watch(options: Record<string, unknown> = {}): Promise<WorldWatch> {
    const watcher = watch({ ...this.network.clientOptions(this.host), ...options });
    const events: WatchEvent[] = [];
    const add = (event: WatchEvent['event'], server: Server, reason?: string) =>
      events.push({ event, at: Date.now(), server, ...(reason ? { reason } : {}) });
    watcher.on('up', (server) => add('up', server));
    watcher.on('update', (server) => add('update', server));
    watcher.on('down', (server, reason) => add('down', server, reason));
    const close = () => watcher.close();
    this.#stops.add(close);
    const time = this.time;
    return {
      events,
      async next(test, timeoutMs, from = 0) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const found = events.slice(from).find(test);
          if (found) return found;
          if (Date.now() > deadline) {
            throw new Error(
              `no matching event in ${timeoutMs} ms; events:\n${JSON.stringify(events)}`,
            );
          }
          await time.advance(10);
        }
      },
      close: async () => {
        this.#stops.delete(close);
        await drive(time, close());
      },
    };
  }

  setAddress(ifname: string, address: string): void {
    this.host.setAddress(ifname, { ipv4: address });
  }

  setLink(ifname: string, up: boolean): void {
    const link = this.host.link(ifname);
    if (up) link.up();
    else link.down();
  }

  async linkLocal(ifname: string): Promise<string> {
    const entry = this.host
      .interfaceProvider6()
      .find((e) => e.name === ifname && e.address.startsWith('fe80:'));
    if (!entry) throw new Error(`no link-local address on ${ifname}`);
    return entry.address;
  }

  vanish(): void {
    // Its responders and watchers run on, deaf and mute: to the rest of the network, gone (as
    // in the lab, where they are killed). The end of the test stops them.
    this.host.vanish();
  }

  /** Stops what still runs on this host. */
  async stopAll(): Promise<void> {
    const stops = [...this.#stops];
    this.#stops.clear();
    await drive(this.time, Promise.allSettled(stops.map((stop) => stop())));
  }
}

/** Builds `spec` on a simulated network under mocked time, for test `t`. */
export async function startKitWorld(t: TestContext, spec: WorldSpec): Promise<World> {
  const time = mockTime(t.mock);
  const network = createTestNetwork({ seed: 19 });
  const lans = new Map<string, TestLan>();
  for (const [name, lan] of Object.entries(spec.lans)) {
    lans.set(name, network.lan({ name, ipv4: lan.ipv4, ...(lan.ipv6 ? { ipv6: lan.ipv6 } : {}) }));
  }
  const lanOf = (name: string) => {
    const lan = lans.get(name);
    if (!lan) throw new Error(`no LAN "${name}"`);
    return lan;
  };
  for (const [name, router] of Object.entries(spec.routers ?? {})) {
    network.router({ name, lans: Object.values(router.interfaces).map((i) => lanOf(i.lan)) });
  }
  const hosts = new Map<string, KitWorldHost>();
  for (const [name, host] of Object.entries(spec.hosts)) {
    const interfaces = Object.entries(host.interfaces).map(([ifname, iface]) => ({
      lan: lanOf(iface.lan),
      name: ifname,
      ipv4: iface.ipv4,
      ...(iface.ipv6 ? { ipv6: iface.ipv6 } : {}),
    }));
    hosts.set(name, new KitWorldHost(network, network.host({ name, interfaces }), host, time));
  }
  t.after(async () => {
    for (const host of hosts.values()) await host.stopAll();
  });
  return {
    mode: 'kit',
    host(name) {
      const host = hosts.get(name);
      if (!host) throw new Error(`no host "${name}"`);
      return host;
    },
    loss(lan, fraction) {
      network.loss(lanOf(lan), fraction);
    },
    sleep: (ms) => time.advance(ms),
    now: () => Date.now(),
  };
}
