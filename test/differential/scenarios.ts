/**
 * The differential suite's scenarios: the lab's (test/lab/scenarios) retold against
 * {@link World}, so that each runs unchanged in the lab (lab-1.test.ts to lab-3.test.ts) and
 * in `beckon/testing` (kit.test.ts), asserting the same outcomes. docs/testing-your-app.md lists them.
 */
import assert from 'node:assert/strict';
import type { Server } from '../../src/index.js';
import { downOf, type Scenario, summary, upOf } from './world.js';

const IPV4 = { family: 'IPv4' } as const;
/** Shared keys, in `beckon keygen`'s format (32 bytes, URL-safe base64). */
const KEY = Buffer.alloc(32, 7).toString('base64url');
const OTHER_KEY = Buffer.alloc(32, 9).toString('base64url');

export const scenarios: readonly Scenario[] = [
  {
    name: 'flat LAN: two clients find the server by its LAN address',
    spec: {
      lans: { lan: { ipv4: '10.1.0.0/24' } },
      hosts: {
        server: { interfaces: { eth0: { lan: 'lan', ipv4: '10.1.0.10' } } },
        alice: { interfaces: { eth0: { lan: 'lan', ipv4: '10.1.0.21' } } },
        bob: { interfaces: { eth0: { lan: 'lan', ipv4: '10.1.0.22' } } },
      },
    },
    async run(world) {
      await world.host('server').serve({ httpPort: 8080, name: 'api' });
      const alice = await world.host('alice').discover({ ...IPV4, timeout: 1000, extended: true });
      assert.deepEqual(summary(alice), ['10.1.0.10:8080@eth0 broadcast']);
      assert.equal(alice[0]?.url, 'http://10.1.0.10:8080');
      assert.equal(alice[0]?.source, '10.1.0.10');
      assert.equal(alice[0]?.metadata?.name, 'api');
      const bob = await world.host('bob').discover({ ...IPV4, timeout: 1000 });
      assert.deepEqual(summary(bob), ['10.1.0.10:8080@eth0 broadcast']);
    },
  },
  {
    name: 'multi-homed server: each client gets the address on its own subnet',
    spec: {
      lans: { office: { ipv4: '10.2.1.0/24' }, lab: { ipv4: '10.2.2.0/24' } },
      hosts: {
        server: {
          interfaces: {
            eth0: { lan: 'office', ipv4: '10.2.1.10' },
            eth1: { lan: 'lab', ipv4: '10.2.2.10' },
          },
        },
        office: { interfaces: { eth0: { lan: 'office', ipv4: '10.2.1.20' } } },
        lab: { interfaces: { eth0: { lan: 'lab', ipv4: '10.2.2.20' } } },
      },
    },
    async run(world) {
      await world.host('server').serve({ httpPort: 8080 });
      const office = await world.host('office').discover({ ...IPV4, timeout: 1000 });
      assert.deepEqual(summary(office), ['10.2.1.10:8080@eth0 broadcast']);
      const lab = await world.host('lab').discover({ ...IPV4, timeout: 1000 });
      assert.deepEqual(summary(lab), ['10.2.2.10:8080@eth0 broadcast']);
      assert.equal(lab[0]?.source, '10.2.2.10');
    },
  },
  {
    name: 'multi-homed client: finds the servers of both subnets, each once, with its interface',
    spec: {
      lans: { a: { ipv4: '10.3.1.0/24' }, b: { ipv4: '10.3.2.0/24' } },
      hosts: {
        client: {
          interfaces: {
            eth0: { lan: 'a', ipv4: '10.3.1.20' },
            eth1: { lan: 'b', ipv4: '10.3.2.20' },
          },
        },
        one: { interfaces: { eth0: { lan: 'a', ipv4: '10.3.1.10' } } },
        two: { interfaces: { eth0: { lan: 'b', ipv4: '10.3.2.10' } } },
      },
    },
    async run(world) {
      await world.host('one').serve({ httpPort: 8001 });
      await world.host('two').serve({ httpPort: 8002 });
      const client = world.host('client');
      assert.deepEqual(summary(await client.discover({ ...IPV4, timeout: 1000 })), [
        '10.3.1.10:8001@eth0 broadcast',
        '10.3.2.10:8002@eth1 broadcast',
      ]);
      const only = await client.discover({ ...IPV4, timeout: 1000, interfaces: ['eth1'] });
      assert.deepEqual(summary(only), ['10.3.2.10:8002@eth1 broadcast']);
    },
  },
  {
    name: 'routed segments: broadcast stays on its LAN, targets cross the router',
    spec: {
      lans: { east: { ipv4: '10.5.1.0/24' }, west: { ipv4: '10.5.2.0/24' } },
      routers: {
        router: {
          interfaces: {
            eth0: { lan: 'east', ipv4: '10.5.1.1' },
            eth1: { lan: 'west', ipv4: '10.5.2.1' },
          },
        },
      },
      hosts: {
        client: { interfaces: { eth0: { lan: 'east', ipv4: '10.5.1.20' } } },
        near: { interfaces: { eth0: { lan: 'east', ipv4: '10.5.1.10' } } },
        far: { interfaces: { eth0: { lan: 'west', ipv4: '10.5.2.10' } } },
        // Answers on-link senders only.
        guarded: { interfaces: { eth0: { lan: 'west', ipv4: '10.5.2.11' } } },
      },
    },
    async run(world) {
      await world.host('near').serve({ httpPort: 8080 });
      await world.host('far').serve({ httpPort: 8080 });
      await world.host('guarded').serve({ httpPort: 8080, offLink: 'none' });
      const client = world.host('client');
      assert.deepEqual(summary(await client.discover({ ...IPV4, timeout: 1000 })), [
        '10.5.1.10:8080@eth0 broadcast',
      ]);
      const byHost = await client.discover({ ...IPV4, timeout: 1000, targets: ['10.5.2.10'] });
      assert.deepEqual(summary(byHost), [
        '10.5.1.10:8080@eth0 broadcast',
        '10.5.2.10:8080@eth0 target',
      ]);
      // The whole far subnet: the guarded server gets the request and stays silent.
      const farOnly = await client.discover({
        ...IPV4,
        timeout: 1500,
        broadcast: false,
        targets: ['10.5.2.0/24'],
      });
      assert.deepEqual(summary(farOnly), ['10.5.2.10:8080@eth0 target']);
    },
  },
  {
    name: 'loss: with 30% of datagrams lost, default retries still find the server',
    spec: {
      lans: { lan: { ipv4: '10.6.0.0/24' } },
      hosts: {
        server: { interfaces: { eth0: { lan: 'lan', ipv4: '10.6.0.10' } } },
        client: { interfaces: { eth0: { lan: 'lan', ipv4: '10.6.0.20' } } },
      },
    },
    async run(world, t) {
      await world.host('server').serve({ httpPort: 8080 });
      world.loss('lan', 0.3);
      const client = world.host('client');
      // Requests and answers are each lost 30% of the time: one round (a broadcast and a
      // group request) gets an answer back with p = 1 - (1 - 0.7²)² ≈ 0.74; three rounds miss
      // with p ≈ 1.8%. The bounds hold for any seed of the kit and any run of the lab.
      const withRetries = await client.discoverRepeatedly(IPV4, 300, 10);
      const noRetries = await client.discoverRepeatedly(
        { ...IPV4, retries: 0, timeout: 300 },
        100,
        10,
      );
      t.diagnostic(`retries: ${withRetries.found}/300; none: ${noRetries.found}/100`);
      assert.ok(withRetries.found >= 280, `with retries only ${withRetries.found}/300 found`);
      assert.deepEqual(withRetries.servers, ['http://10.6.0.10:8080']);
      assert.ok(noRetries.found <= 95, `without retries ${noRetries.found}/100 found: no loss?`);
      assert.ok(noRetries.found >= 50, `without retries only ${noRetries.found}/100 found`);
    },
  },
  {
    name: "address change: the next answer carries the server's new address",
    spec: {
      lans: { lan: { ipv4: '10.8.0.0/24' } },
      hosts: {
        server: { interfaces: { eth0: { lan: 'lan', ipv4: '10.8.0.10' } } },
        client: { interfaces: { eth0: { lan: 'lan', ipv4: '10.8.0.20' } } },
      },
    },
    async run(world) {
      const server = world.host('server');
      const client = world.host('client');
      await server.serve({ httpPort: 8080 });
      assert.deepEqual(summary(await client.discover({ ...IPV4, timeout: 1000 })), [
        '10.8.0.10:8080@eth0 broadcast',
      ]);
      server.setAddress('eth0', '10.8.0.11');
      assert.deepEqual(summary(await client.discover({ ...IPV4, timeout: 1000 })), [
        '10.8.0.11:8080@eth0 broadcast',
      ]);
    },
  },
  {
    name: 'presence: up on start, down (goodbye) on stop, down (expired) when the host vanishes',
    spec: {
      lans: { lan: { ipv4: '10.17.0.0/24' } },
      hosts: {
        watcher: { interfaces: { eth0: { lan: 'lan', ipv4: '10.17.0.20' } } },
        s1: { interfaces: { eth0: { lan: 'lan', ipv4: '10.17.0.11' } } },
        s2: { interfaces: { eth0: { lan: 'lan', ipv4: '10.17.0.12' } } },
      },
    },
    async run(world) {
      const lease = 3000;
      const watcher = await world.host('watcher').watch(IPV4);
      const early = await world.host('s1').serve({ httpPort: 8100, lease });
      await watcher.next(upOf(8100), 5000);

      // A watcher started later hears of the running server at once.
      const late = await world.host('watcher').watch(IPV4);
      const lateUp = await late.next(upOf(8100), 3000);
      assert.equal(lateUp.server.ip, '10.17.0.11');

      await world.host('s2').serve({ httpPort: 8200, lease });
      // From the moment it listens (in the lab, not counting the process's start).
      const listening = world.now();
      const up = await watcher.next(upOf(8200), 5000);
      assert.ok(up.at - listening <= 1500, `up ${up.at - listening} ms after it listened`);

      const stopping = world.now();
      await early.stop();
      const goodbye = await watcher.next(downOf(8100), 5000);
      assert.equal(goodbye.reason, 'goodbye');
      assert.ok(goodbye.at - stopping <= 1000, `down ${goodbye.at - stopping} ms after stop`);

      await world.sleep(1000); // anywhere in the lease
      const vanished = world.now();
      world.host('s2').vanish();
      const expired = await watcher.next(downOf(8200), lease + 5000);
      assert.equal(expired.reason, 'expired');
      const after = expired.at - vanished;
      assert.ok(after <= lease + 3000, `down ${after} ms after the host vanished`);
      // Not before a lease has run out since it was last heard (at most a second before).
      assert.ok(after >= lease - 1500, `down only ${after} ms after the host vanished`);
      // Each server went up once and down once, in that order.
      assert.deepEqual(
        watcher.events
          .filter((e) => e.event !== 'update')
          .map((e) => `${e.event} ${e.server.port}`),
        ['up 8100', 'up 8200', 'down 8100', 'down 8200'],
      );
    },
  },
  {
    name: 'dual stack: one result with its IPv4, ULA and link-local addresses; a family keeps its own',
    spec: {
      lans: { link: { ipv4: '10.15.2.0/24', ipv6: 'fd15:0:0:2::/64' } },
      hosts: {
        server: {
          interfaces: { lan0: { lan: 'link', ipv4: '10.15.2.10', ipv6: 'fd15:0:0:2::10' } },
        },
        client: {
          interfaces: { eth1: { lan: 'link', ipv4: '10.15.2.20', ipv6: 'fd15:0:0:2::20' } },
        },
      },
    },
    async run(world) {
      await world.host('server').serve({ httpPort: 8080 });
      const linkLocal = `${await world.host('server').linkLocal('lan0')}%eth1`;
      const client = world.host('client');
      const paths = (servers: readonly Server[]) => {
        assert.equal(servers.length, 1, JSON.stringify(servers));
        return servers[0]?.addresses.map((a) => `${a.address} ${a.family} ${a.interface} ${a.via}`);
      };
      const both = paths(await client.discover({ timeout: 1000 }));
      // IPv4 and the ULA share the first tier (the round trip orders them); link-local is last.
      assert.deepEqual(both?.slice(0, 2).sort(), [
        '10.15.2.10 IPv4 eth1 broadcast',
        'fd15:0:0:2::10 IPv6 eth1 multicast',
      ]);
      assert.equal(both?.[2], `${linkLocal} IPv6 eth1 multicast`);
      assert.deepEqual(paths(await client.discover({ timeout: 1000, family: 'IPv6' })), [
        'fd15:0:0:2::10 IPv6 eth1 multicast',
        `${linkLocal} IPv6 eth1 multicast`,
      ]);
      assert.deepEqual(paths(await client.discover({ timeout: 1000, family: 'IPv4' })), [
        '10.15.2.10 IPv4 eth1 broadcast',
      ]);
    },
  },
  {
    name: 'shared key: only a client with the key finds the keyed server, and learns its metadata',
    spec: {
      lans: { lan: { ipv4: '10.9.0.0/24' } },
      hosts: {
        server: { interfaces: { eth0: { lan: 'lan', ipv4: '10.9.0.10' } } },
        open: { interfaces: { eth0: { lan: 'lan', ipv4: '10.9.0.11' } } },
        client: { interfaces: { eth0: { lan: 'lan', ipv4: '10.9.0.20' } } },
      },
    },
    async run(world) {
      await world.host('server').serve({ httpPort: 8443, authKeys: [KEY], name: 'vault' });
      await world.host('open').serve({ httpPort: 8080 });
      const client = world.host('client');
      assert.deepEqual(summary(await client.discover({ ...IPV4, timeout: 1000 })), [
        '10.9.0.11:8080@eth0 broadcast',
      ]);
      assert.deepEqual(
        summary(await client.discover({ ...IPV4, timeout: 1000, authKey: OTHER_KEY })),
        [],
      );
      const keyed = await client.discover({ ...IPV4, timeout: 1000, authKey: KEY });
      assert.deepEqual(summary(keyed), ['10.9.0.10:8443@eth0 broadcast']);
      assert.equal(keyed[0]?.metadata?.name, 'vault');
    },
  },
  {
    name: "a link going down: the server's lease runs out; back up, it is up again",
    spec: {
      lans: { lan: { ipv4: '10.18.0.0/24' } },
      hosts: {
        watcher: { interfaces: { eth0: { lan: 'lan', ipv4: '10.18.0.20' } } },
        server: { interfaces: { eth0: { lan: 'lan', ipv4: '10.18.0.10' } } },
      },
    },
    async run(world) {
      const lease = 3000;
      const watcher = await world.host('watcher').watch(IPV4);
      await world.host('server').serve({ httpPort: 8300, lease });
      await watcher.next(upOf(8300), 5000);
      world.host('server').setLink('eth0', false);
      const down = await watcher.next(downOf(8300), lease + 5000);
      assert.equal(down.reason, 'expired');
      const back = world.now();
      world.host('server').setLink('eth0', true);
      const up = await watcher.next(upOf(8300), 10_000, watcher.events.indexOf(down) + 1);
      assert.ok(up.at - back <= 5000, `up again ${up.at - back} ms after the link came back`);
    },
  },
  {
    name: 'several services on one host: one port answers for all; another takes over when it stops',
    spec: {
      lans: { lan: { ipv4: '10.19.0.0/24' } },
      hosts: {
        server: { interfaces: { eth0: { lan: 'lan', ipv4: '10.19.0.10' } } },
        client: { interfaces: { eth0: { lan: 'lan', ipv4: '10.19.0.20' } } },
      },
    },
    async run(world) {
      const server = world.host('server');
      const client = world.host('client');
      const services = (servers: readonly Server[]) =>
        servers.map((s) => `${s.metadata?.service} ${s.ip}:${s.port}`).sort();
      // The first holds the default port; the others find it taken and register with it.
      const orders = await server.serve({ httpPort: 8001, service: 'orders' });
      await server.serve({ httpPort: 8002, service: 'users' });
      await server.serve({ httpPort: 8003, service: 'billing' });
      await server.serve({ httpPort: 8443, service: 'vault', authKeys: [KEY] });
      const extended = { ...IPV4, timeout: 1000, extended: true };
      assert.deepEqual(services(await client.discover(extended)), [
        'billing 10.19.0.10:8003',
        'orders 10.19.0.10:8001',
        'users 10.19.0.10:8002',
      ]);
      // The original's request: one reply per HTTP port; the keyed service stays silent.
      assert.deepEqual(summary(await client.discover({ ...IPV4, timeout: 1000 })), [
        '10.19.0.10:8001@eth0 broadcast',
        '10.19.0.10:8002@eth0 broadcast',
        '10.19.0.10:8003@eth0 broadcast',
      ]);
      // Signed in the keyed service's own process, through the host channel.
      const keyed = await client.discover({ ...IPV4, timeout: 1000, authKey: KEY });
      assert.deepEqual(services(keyed), ['vault 10.19.0.10:8443']);
      assert.equal(keyed[0]?.authenticated, true);

      // The answering one stops: another takes the port over (within a second; a loaded
      // machine may take longer, so the client asks until the answers settle, for 5 s at most).
      await orders.stop();
      const expected = ['billing 10.19.0.10:8003', 'users 10.19.0.10:8002'];
      let found: string[] = [];
      for (const deadline = world.now() + 5000; world.now() < deadline; ) {
        found = services(await client.discover(extended));
        if (found.join() === expected.join()) break;
        await world.sleep(200);
      }
      assert.deepEqual(found, expected);
      const still = await client.discover({ ...IPV4, timeout: 1000, authKey: KEY });
      assert.deepEqual(services(still), ['vault 10.19.0.10:8443']);
    },
  },
];
