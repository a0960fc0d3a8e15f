/**
 * Group memberships and interface polling (docs/ipv6.md, "Multicast groups"), `family: 'IPv6'`
 * and IPv6 `allow` CIDRs, on loopback. Joins on real links are in the lab:
 * test/lab/scenarios/multicast-groups.test.ts and ipv6-late-interfaces.test.ts.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import {
  type BeckonError,
  createResponder,
  InvalidOptionError,
  type ResponderOptions,
} from '../../src/index.js';
import { type IPv6InterfaceAddress, ipv6InterfacesFrom } from '../../src/network/interfaces6.js';
import { IPV4_GROUP, IPV6_GROUP } from '../../src/network/multicast.js';
import { decodeAnswer, encodeRequest } from '../../src/protocol/extended.js';
import {
  GroupMemberships,
  groupTargets4,
  groupTargets6,
} from '../../src/responder/group-memberships.js';
import { ipv4 } from '../helpers/interfaces.js';
import { trackResponders } from '../helpers/responders.js';
import { ask, sleep } from '../helpers/udp.js';

const startResponder = trackResponders({ rateLimit: 0 });

const invalid = (option: string) => (error: unknown) => {
  assert.ok(error instanceof InvalidOptionError, String(error));
  assert.equal(error.option, option);
  return true;
};

describe('responder group options', () => {
  it('validates interfacePollInterval, naming it', () => {
    for (const value of [-1, 50, 99, 1.5, 3_600_001, Number.NaN, '2000']) {
      assert.throws(
        () => createResponder({ env: {}, interfacePollInterval: value as number }),
        invalid('interfacePollInterval'),
        String(value),
      );
    }
    for (const value of [0, 100, 2000, 3_600_000]) {
      const responder = createResponder({ env: {}, interfacePollInterval: value });
      assert.equal(responder.settings.interfacePollInterval, value);
    }
    assert.equal(createResponder({ env: {} }).settings.interfacePollInterval, 2000);
  });

  it("accepts family 'IPv6' with bindAddress 0.0.0.0 only, and names IPv6 among the allowed", () => {
    assert.equal(createResponder({ env: {}, family: 'IPv6' }).settings.family, 'IPv6');
    assert.throws(
      () => createResponder({ env: {}, family: 'IPv6', bindAddress: '127.0.0.1' }),
      invalid('bindAddress'),
    );
    assert.throws(
      () => createResponder({ env: {}, family: 'ipv6' as 'IPv6' }),
      (error: unknown) => invalid('family')(error) && /'IPv6'/.test((error as Error).message),
    );
  });

  it('accepts IPv6 CIDRs in allow and refuses malformed ones, naming allow', () => {
    const responder = createResponder({
      env: {},
      allow: ['10.20.0.0/16', 'fd00::/8', '2001:db8::1'],
    });
    assert.deepEqual(responder.settings.allow, ['10.20.0.0/16', 'fd00::/8', '2001:db8::1']);
    for (const bad of ['fe80::/64%eth0', 'fe80::1%eth0', 'fd00::/129', 'fd00::/x', '10.0.0.0/33']) {
      assert.throws(
        () => createResponder({ env: {}, allow: [bad] }),
        (error: unknown) =>
          invalid('allow')(error) && /IPv4 or IPv6 CIDRs/.test((error as Error).message),
        bad,
      );
    }
  });
});

async function exchange6(port: number, datagram: Buffer, waitMs = 300): Promise<Buffer[]> {
  const socket = createSocket('udp6');
  const received: Buffer[] = [];
  socket.on('message', (message) => received.push(message));
  socket.bind(0, '::1');
  await once(socket, 'listening');
  socket.send(datagram, port, '::1');
  await sleep(waitMs);
  socket.close();
  return received;
}

const extendedRequest = () => encodeRequest({ nonce: randomBytes(16), timestamp: Date.now() });

describe("family: 'IPv6'", () => {
  it('answers extended requests on [::1] and binds no IPv4 socket', async () => {
    const types: string[] = [];
    const responder = createResponder({
      env: {},
      port: 0,
      family: 'IPv6',
      joinGroups: false,
      httpPort: 8080,
      socketFactory: (options) => {
        types.push(options.type);
        return createSocket(options);
      },
    });
    const listening = once(responder, 'listening');
    await responder.start();
    try {
      assert.deepEqual(await listening, [{ address: '::', port: responder.port }]);
      assert.deepEqual(types, ['udp6']);
      const answers = await exchange6(responder.port ?? 0, extendedRequest());
      assert.equal(answers.length, 1);
      assert.equal(decodeAnswer(answers[0] as Buffer)?.address, '::1');
      // Nothing listens on IPv4: the port is free there, and a plain request goes unanswered.
      assert.deepEqual(await ask(responder.port ?? 0, 'DISCOVER_SERVER'), []);
      const probe = createSocket('udp4');
      probe.bind(responder.port ?? 0, '0.0.0.0');
      await once(probe, 'listening');
      probe.close();
    } finally {
      await responder.stop();
    }
  });

  it('answers from a worker thread too', async () => {
    const responder = await startResponder({ worker: true, family: 'IPv6' });
    const answers = await exchange6(responder.port, extendedRequest(), 1000);
    assert.equal(answers.length, 1);
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), []);
  });
});

/** IPv6 entries as `os.networkInterfaces()` would list them: name -> addresses. */
function ipv6(table: Record<string, string[]>): IPv6InterfaceAddress[] {
  return ipv6InterfacesFrom(
    Object.fromEntries(
      Object.entries(table).map(([name, addresses]) => [
        name,
        addresses.map((address) => ({
          address,
          netmask:
            address === '::1' ? 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff' : 'ffff:ffff:ffff:ffff::',
          family: 'IPv6' as const,
          mac: '00:00:00:00:00:00',
          internal: address === '::1',
          cidr: null,
          scopeid: 0,
        })),
      ]),
    ),
  );
}

describe('group targets', () => {
  it('IPv4: one per non-loopback interface, through its first address', () => {
    assert.deepEqual(
      groupTargets4([
        ipv4('lo', '127.0.0.1', true),
        ipv4('eth0', '10.0.0.5'),
        ipv4('eth0', '10.0.1.5'),
        ipv4('wlan0', '192.168.1.9'),
      ]),
      [
        { name: 'eth0', via: '10.0.0.5' },
        { name: 'wlan0', via: '192.168.1.9' },
      ],
    );
  });

  it('IPv6: one per interface with a link-local address, zoned by name', () => {
    assert.deepEqual(
      groupTargets6(
        ipv6({
          lo: ['::1'],
          eth0: ['fd00::5', 'fe80::1', 'fe80::2'],
          tun0: ['2001:db8::7'], // no link-local address: IPv6 multicast does not work there
        }),
      ),
      [{ name: 'eth0', via: '::%eth0' }],
    );
  });
});

/** A socket stand-in that records membership calls and fails as told. */
function fakeSocket(fail: Record<string, string> = {}) {
  const calls: string[] = [];
  const socket = {
    addMembership(group: string, via?: string) {
      calls.push(`add ${group} ${via}`);
      const code = fail[`${via}`];
      if (code) throw Object.assign(new Error(`addMembership ${code}`), { code });
    },
    dropMembership(group: string, via?: string) {
      calls.push(`drop ${group} ${via}`);
      throw Object.assign(new Error('dropMembership ENODEV'), { code: 'ENODEV' });
    },
  };
  return { socket, calls };
}

function recordingReport() {
  const warnings: BeckonError[] = [];
  const debug: string[] = [];
  return {
    warnings,
    debug,
    report: { debug: (m: string) => debug.push(m), warn: (e: BeckonError) => warnings.push(e) },
  };
}

describe('GroupMemberships', () => {
  it('joins new interfaces, treats EADDRINUSE as joined, leaves the ones that went away', () => {
    const { socket, calls } = fakeSocket({ '10.0.0.5': 'EADDRINUSE' });
    const { report, warnings } = recordingReport();
    const groups = new GroupMemberships(socket, IPV4_GROUP, report);
    groups.update([
      { name: 'eth0', via: '10.0.0.5' },
      { name: 'eth1', via: '10.0.1.5' },
    ]);
    assert.deepEqual(groups.interfaces, ['eth0', 'eth1']);
    groups.update([{ name: 'eth1', via: '10.0.1.5' }]);
    assert.deepEqual(groups.interfaces, ['eth1']);
    // The leave uses the address the join used, and its error (interface gone) is not a warning.
    assert.ok(calls.includes(`drop ${IPV4_GROUP} 10.0.0.5`), calls.join('\n'));
    assert.deepEqual(warnings, []);
  });

  it('warns once per interface and error code, and retries at each update', () => {
    const { socket, calls } = fakeSocket({ '::%eth9': 'ENODEV' });
    const { report, warnings, debug } = recordingReport();
    const groups = new GroupMemberships(socket, IPV6_GROUP, report);
    for (let i = 0; i < 3; i++) groups.update([{ name: 'eth9', via: '::%eth9' }]);
    assert.equal(calls.filter((call) => call.startsWith('add')).length, 3);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.code, 'BECKON_ERR_SOCKET');
    assert.match(warnings[0]?.message ?? '', /ff12::6265:636b on eth9 \(ENODEV\)/);
    assert.equal(debug.filter((line) => /ENODEV/.test(line)).length, 2);
    assert.deepEqual(groups.interfaces, []);
  });

  it('forgets, without dropMembership, an interface that can no longer be named', () => {
    const { socket, calls } = fakeSocket();
    const groups = new GroupMemberships(socket, IPV6_GROUP, recordingReport().report);
    groups.update([
      { name: 'eth0', via: '::%eth0' },
      { name: 'eth1', via: '::%eth1' },
    ]);
    groups.update([{ name: 'eth0', via: '::%eth0' }], (name) => name !== 'eth1');
    assert.deepEqual(groups.interfaces, ['eth0']);
    assert.equal(calls.filter((call) => call.startsWith('drop')).length, 0);
  });
});

/** Real sockets whose membership calls are recorded instead of made (the interfaces are fake). */
function recordingFactory() {
  const calls: string[] = [];
  const factory: ResponderOptions['socketFactory'] = (options) => {
    const socket: Socket = createSocket(options);
    const family = options.type === 'udp6' ? 'v6' : 'v4';
    socket.addMembership = (group: string, via?: string) => {
      calls.push(`${family} add ${group} ${via}`);
    };
    socket.dropMembership = (group: string, via?: string) => {
      calls.push(`${family} drop ${group} ${via}`);
    };
    return socket;
  };
  return { factory, calls };
}

const until = async (check: () => boolean, timeoutMs = 10_000) => {
  for (const deadline = Date.now() + timeoutMs; !check(); await sleep(20)) {
    if (Date.now() > deadline) return false;
  }
  return true;
};

describe('responder group memberships', () => {
  it('joins both groups at start, follows interfaces by polling, stops polling on stop', async () => {
    const { factory, calls } = recordingFactory();
    let interfaces4 = [ipv4('lo', '127.0.0.1', true), ipv4('eth0', '10.0.0.5')];
    let interfaces6 = ipv6({ lo: ['::1'], eth0: ['fe80::1'] });
    const responder = await startResponder({
      joinGroups: true,
      announce: false, // the interfaces are made up: no announcement may leave for them
      socketFactory: factory,
      interfaceProvider: () => interfaces4,
      interfaceProvider6: () => interfaces6,
      interfacePollInterval: 100,
    });
    assert.deepEqual(calls.sort(), [
      `v4 add ${IPV4_GROUP} 10.0.0.5`,
      `v6 add ${IPV6_GROUP} ::%eth0`,
    ]);
    // eth1 appears on both families; eth0 goes away (IPv4 left; IPv6 listed without link-local).
    interfaces4 = [ipv4('eth1', '10.0.1.5')];
    interfaces6 = ipv6({ eth0: ['fd00::1'], eth1: ['fe80::2'] });
    const followed = await until(
      () =>
        calls.includes(`v4 add ${IPV4_GROUP} 10.0.1.5`) &&
        calls.includes(`v4 drop ${IPV4_GROUP} 10.0.0.5`) &&
        calls.includes(`v6 add ${IPV6_GROUP} ::%eth1`) &&
        calls.includes(`v6 drop ${IPV6_GROUP} ::%eth0`),
    );
    assert.ok(followed, calls.join('\n'));
    await responder.stop();
    const after = calls.length;
    interfaces4 = [ipv4('eth2', '10.0.2.5')];
    await sleep(400);
    assert.equal(calls.length, after, 'no poll after stop');
  });

  it('with interfacePollInterval 0 joins at start only', async () => {
    const { factory, calls } = recordingFactory();
    let interfaces4 = [ipv4('eth0', '10.0.0.5')];
    await startResponder({
      joinGroups: true,
      announce: false, // the interfaces are made up: no announcement may leave for them
      socketFactory: factory,
      interfaceProvider: () => interfaces4,
      interfaceProvider6: () => [],
      interfacePollInterval: 0,
    });
    interfaces4 = [ipv4('eth1', '10.0.1.5')];
    await sleep(600);
    assert.deepEqual(calls, [`v4 add ${IPV4_GROUP} 10.0.0.5`]);
  });

  it('bound to one address, joins no IPv4 group (and binds no IPv6 socket)', async () => {
    const { factory, calls } = recordingFactory();
    const responder = await startResponder({
      joinGroups: true,
      announce: false, // the interfaces are made up: no announcement may leave for them
      bindAddress: '127.0.0.1',
      socketFactory: factory,
      interfaceProvider: () => [ipv4('eth0', '10.0.0.5')],
      interfacePollInterval: 100,
    });
    await sleep(300);
    assert.deepEqual(calls, []);
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1']);
  });

  it('with joinGroups false joins nothing and does not poll (interfaces are read once, to announce on loopback)', async () => {
    const { factory, calls } = recordingFactory();
    let polled = 0;
    await startResponder({
      joinGroups: false,
      socketFactory: factory,
      interfaceProvider: () => {
        polled++;
        return [ipv4('eth0', '10.0.0.5')];
      },
      interfacePollInterval: 100,
    });
    await sleep(400);
    assert.deepEqual(calls, []);
    assert.equal(polled, 1);
    assert.throws(
      () => createResponder({ env: {}, joinGroups: 'no' as unknown as boolean }),
      invalid('joinGroups'),
    );
  });

  it('a provider that throws is a warning, not a crash', async () => {
    let calls = 0;
    const responder = createResponder({
      env: {},
      port: 0,
      interfacePollInterval: 100,
      interfaceProvider6: () => [],
      interfaceProvider: () => {
        calls++;
        if (calls > 1) throw new Error('provider broke');
        return [];
      },
    });
    const warnings: BeckonError[] = [];
    responder.on('warning', (warning) => warnings.push(warning));
    await responder.start();
    try {
      assert.ok(await until(() => warnings.length > 0), 'no warning');
      assert.match(warnings[0]?.message ?? '', /provider broke/);
    } finally {
      await responder.stop();
    }
  });
});
