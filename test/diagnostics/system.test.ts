import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  detectContainer,
  detectWsl,
  parseDefaultRoute,
} from '../../src/diagnostics/environment.js';
import {
  bindTest,
  boundSockets,
  parseProcNetUdp,
  socketHolders,
} from '../../src/diagnostics/port-owner.js';
import { requirePrerequisite } from '../helpers/prerequisite.js';

// ---------------------------------------------------------------- /proc/net/udp

const UDP_HEADER =
  '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ';
const UDP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops';
const udpLine = (sl: number, local: string, remote: string, uid: number, inode: number) =>
  `${String(sl).padStart(5)}: ${local} ${remote} 07 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 2 0000000000000000 0        `;
const V4_ANY = '00000000:0000';
const V6_ANY = '00000000000000000000000000000000:0000';

/** 2 sockets on 9999 (0x270F), 1 on 10000 (0x2710), as a little-endian host prints them. */
const PROC_NET_UDP_LE = [
  UDP_HEADER,
  udpLine(123, '0100007F:270F', V4_ANY, 0, 45678),
  udpLine(124, '00000000:270F', V4_ANY, 1000, 45679),
  udpLine(125, '0100007F:2710', V4_ANY, 0, 45680),
  udpLine(126, '1401A8C0:270F', V4_ANY, 33, 45681), // 192.168.1.20
  '',
].join('\n');

const PROC_NET_UDP6_LE = [
  UDP6_HEADER,
  udpLine(7, `${'0'.repeat(32)}:270F`, V6_ANY, 0, 50001),
  udpLine(8, '0000000000000000FFFF00000100007F:270F', V6_ANY, 1000, 50002),
  udpLine(9, '00000000000000000000000001000000:270F', V6_ANY, 1000, 50003), // ::1
  udpLine(10, `${'0'.repeat(32)}:2710`, V6_ANY, 0, 50004),
  '',
].join('\n');

describe('parseProcNetUdp', () => {
  it('reads the IPv4 sockets bound to the port, little-endian', () => {
    assert.deepEqual(parseProcNetUdp(PROC_NET_UDP_LE, 9999, 'IPv4', true), [
      { address: '127.0.0.1', family: 'IPv4', inode: 45678, uid: 0 },
      { address: '0.0.0.0', family: 'IPv4', inode: 45679, uid: 1000 },
      { address: '192.168.1.20', family: 'IPv4', inode: 45681, uid: 33 },
    ]);
    assert.deepEqual(
      parseProcNetUdp(PROC_NET_UDP_LE, 10000, 'IPv4', true).map((s) => s.inode),
      [45680],
    );
    assert.deepEqual(parseProcNetUdp(PROC_NET_UDP_LE, 53, 'IPv4', true), []);
  });

  it('reads big-endian words as they are', () => {
    const text = [
      UDP_HEADER,
      udpLine(1, '7F000001:270F', V4_ANY, 0, 1),
      udpLine(2, 'C0A80114:270F', V4_ANY, 0, 2),
    ].join('\n');
    assert.deepEqual(
      parseProcNetUdp(text, 9999, 'IPv4', false).map((s) => s.address),
      ['127.0.0.1', '192.168.1.20'],
    );
    // the same words read as little-endian are other addresses
    assert.deepEqual(
      parseProcNetUdp(text, 9999, 'IPv4', true).map((s) => s.address),
      ['1.0.0.127', '20.1.168.192'],
    );
  });

  it('reads IPv6 sockets: the wildcard, mapped IPv4 and ::1', () => {
    const sockets = parseProcNetUdp(PROC_NET_UDP6_LE, 9999, 'IPv6', true);
    assert.deepEqual(
      sockets.map((s) => [s.address, s.family, s.uid, s.inode]),
      [
        ['::', 'IPv6', 0, 50001],
        ['::ffff:127.0.0.1', 'IPv6', 1000, 50002],
        [sockets[2]?.address, 'IPv6', 1000, 50003],
      ],
    );
    // ::1 may be written out in full; it must still be ::1
    assert.equal(new URL(`http://[${sockets[2]?.address}]/`).hostname, '[::1]');
    const bigEndian = [
      UDP6_HEADER,
      udpLine(1, '00000000000000000000FFFF7F000001:270F', V6_ANY, 0, 9),
    ].join('\n');
    assert.deepEqual(
      parseProcNetUdp(bigEndian, 9999, 'IPv6', false).map((s) => s.address),
      ['::ffff:127.0.0.1'],
    );
  });

  it('skips the header, blank lines and lines that are cut short', () => {
    const text = [
      UDP_HEADER,
      '',
      '   12: 0100007F:270F',
      udpLine(3, '0100007F:270F', V4_ANY, 5, 77),
    ].join('\n');
    assert.deepEqual(parseProcNetUdp(text, 9999, 'IPv4', true), [
      { address: '127.0.0.1', family: 'IPv4', inode: 77, uid: 5 },
    ]);
    assert.deepEqual(parseProcNetUdp('', 9999, 'IPv4', true), []);
    // a header alone: the header itself is never a socket
    assert.deepEqual(parseProcNetUdp(UDP_HEADER, 9999, 'IPv4', true), []);
  });
});

// ---------------------------------------------------------------- live sockets

async function boundLoopbackSocket(): Promise<{ socket: Socket; port: number }> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return { socket, port: socket.address().port };
}

const close = (socket: Socket) => new Promise<void>((resolve) => socket.close(() => resolve()));

describe('port owner on this host', () => {
  it('finds a socket of this process in /proc and names this process as its holder', async (t) => {
    if (!requirePrerequisite(t, existsSync('/proc/net/udp'), '/proc/net/udp')) return;
    const { socket, port } = await boundLoopbackSocket();
    try {
      const sockets = boundSockets(port);
      const ours = sockets.find((s) => s.family === 'IPv4' && s.address === '127.0.0.1');
      assert.ok(ours, `no 127.0.0.1 socket on port ${port} in ${JSON.stringify(sockets)}`);
      assert.equal(ours.uid, process.getuid?.() ?? ours.uid);
      const holders = socketHolders(sockets);
      const me = holders.find((h) => h.pid === process.pid);
      assert.ok(me, `process ${process.pid} not among ${JSON.stringify(holders)}`);
      assert.match(me.command, /node/);
      assert.equal(me.address, '127.0.0.1');
    } finally {
      await close(socket);
    }
    // once closed, the socket is gone
    assert.equal(
      boundSockets(port).some((s) => s.address === '127.0.0.1'),
      false,
    );
  });

  it('finds no holder for no sockets', () => {
    assert.deepEqual(socketHolders([]), []);
  });

  it('bindTest says in-use while a socket holds the port and free once it is closed', async () => {
    const { socket, port } = await boundLoopbackSocket();
    try {
      assert.equal(await bindTest(port), 'in-use');
    } finally {
      await close(socket);
    }
    assert.equal(await bindTest(port), 'free');
  });
});

// ---------------------------------------------------------------- /proc/net/route

const ROUTE_HEADER =
  'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT                                                       ';
const routeLine = (
  iface: string,
  destination: string,
  gateway: string,
  flags: string,
  mask: string,
) =>
  `${iface}\t${destination}\t${gateway}\t${flags}\t0\t0\t0\t${mask}\t0\t0\t0                                                                               `;

describe('parseDefaultRoute', () => {
  it('reads the default route and its gateway (little-endian hex)', () => {
    const table = [
      ROUTE_HEADER,
      routeLine('eth0', '00000000', '010200C0', '0003', '00000000'),
      routeLine('eth0', '000200C0', '00000000', '0001', '00FFFFFF'),
      '',
    ].join('\n');
    assert.deepEqual(parseDefaultRoute(table), { interface: 'eth0', gateway: '192.0.2.1' });
  });

  it('skips routes that are not up, picks the lowest metric, and reads big-endian tables', () => {
    const line = (name: string, gateway: string, flags: string, metric: string) =>
      `${name}\t00000000\t${gateway}\t${flags}\t0\t0\t${metric}\t00000000\t0\t0\t0`;
    const table = [
      ROUTE_HEADER,
      line('eth9', '0102000A', '0002', '0'), // not RTF_UP
      line('eth1', '0101000A', '0003', '600'),
      line('wg0', '00000000', '0001', '50'), // a device route: no gateway
      '',
    ].join('\n');
    assert.deepEqual(parseDefaultRoute(table), { interface: 'wg0', gateway: '0.0.0.0' });
    const bigEndian = [ROUTE_HEADER, line('eth0', 'C0000201', '0003', '0'), ''].join('\n');
    assert.deepEqual(parseDefaultRoute(bigEndian, false), {
      interface: 'eth0',
      gateway: '192.0.2.1',
    });
  });

  it('finds the default route after subnet routes', () => {
    const table = [
      ROUTE_HEADER,
      routeLine('wlan0', '0001A8C0', '00000000', '0001', '00FFFFFF'),
      routeLine('wlan0', '00000000', 'FE01A8C0', '0003', '00000000'),
    ].join('\n');
    assert.deepEqual(parseDefaultRoute(table), { interface: 'wlan0', gateway: '192.168.1.254' });
  });

  it('says undefined when there are only subnet routes, null when the table is unreadable', () => {
    const table = [
      ROUTE_HEADER,
      routeLine('eth0', '000200C0', '00000000', '0001', '00FFFFFF'),
    ].join('\n');
    assert.equal(parseDefaultRoute(table), undefined);
    assert.equal(parseDefaultRoute(ROUTE_HEADER), undefined);
    assert.equal(parseDefaultRoute(''), undefined);
    assert.equal(parseDefaultRoute(undefined), null);
  });
});

// ---------------------------------------------------------------- containers and WSL

describe('detectContainer', () => {
  const nothing = () => undefined;
  const none = () => false;
  const only =
    (path: string) =>
    (candidate: string): boolean =>
      candidate === path;

  it('sees Docker and Podman by their marker files', () => {
    assert.deepEqual(detectContainer({}, nothing, only('/.dockerenv')), {
      inContainer: true,
      evidence: '/.dockerenv',
    });
    assert.deepEqual(detectContainer({}, nothing, only('/run/.containerenv')), {
      inContainer: true,
      evidence: '/run/.containerenv',
    });
  });

  it('sees the container variable and Kubernetes', () => {
    assert.deepEqual(detectContainer({ container: 'podman' }, nothing, none), {
      inContainer: true,
      evidence: 'container=podman',
    });
    assert.deepEqual(detectContainer({ KUBERNETES_SERVICE_HOST: '10.96.0.1' }, nothing, none), {
      inContainer: true,
      evidence: 'KUBERNETES_SERVICE_HOST',
    });
  });

  it("sees a runtime in PID 1's cgroup", () => {
    const paths: string[] = [];
    const cgroup = (text: string) => (path: string) => {
      paths.push(path);
      return text;
    };
    const docker = '12:memory:/docker/3f2b1c0d9e8a\n1:name=systemd:/docker/3f2b1c0d9e8a\n';
    assert.deepEqual(detectContainer({}, cgroup(docker), none), {
      inContainer: true,
      evidence: '/proc/1/cgroup mentions docker',
    });
    assert.deepEqual(paths, ['/proc/1/cgroup']);
    const kube = '11:cpu:/kubepods/besteffort/pod1234/abcd\n';
    assert.equal(
      detectContainer({}, cgroup(kube), none).evidence,
      '/proc/1/cgroup mentions kubepods',
    );
    const lxc = '0::/lxc.payload.web\n';
    assert.equal(detectContainer({}, cgroup(lxc), none).evidence, '/proc/1/cgroup mentions lxc');
  });

  it('says no container without any evidence', () => {
    const host = () => '0::/init.scope\n';
    assert.deepEqual(detectContainer({ HOME: '/root' }, host, none), {
      inContainer: false,
      evidence: undefined,
    });
    assert.deepEqual(detectContainer({}, nothing, none), {
      inContainer: false,
      evidence: undefined,
    });
  });
});

describe('detectWsl', () => {
  const release = (text: string) => (path: string) =>
    path === '/proc/sys/kernel/osrelease' ? text : undefined;
  const WSL2 = release('5.15.167.4-microsoft-standard-WSL2\n');

  it('sees WSL 2 in NAT mode from the kernel release', () => {
    assert.deepEqual(detectWsl(['lo', 'eth0'], {}, WSL2), { inWsl: true, version: 2, mode: 'nat' });
  });

  it('sees mirrored networking from the loopback0 link', () => {
    assert.deepEqual(detectWsl(['lo', 'loopback0', 'eth0', 'eth1'], {}, WSL2), {
      inWsl: true,
      version: 2,
      mode: 'mirrored',
    });
  });

  it('tells WSL 1, which shares the Windows network stack, from WSL 2', () => {
    assert.deepEqual(detectWsl(['lo', 'eth0', 'wifi0'], {}, release('4.4.0-19041-Microsoft\n')), {
      inWsl: true,
      version: 1,
      mode: undefined,
    });
  });

  it('sees WSL from WSL_DISTRO_NAME alone', () => {
    const plainKernel = release('6.6.36.3-custom\n');
    const facts = detectWsl(['lo', 'eth0'], { WSL_DISTRO_NAME: 'Ubuntu' }, plainKernel);
    assert.equal(facts.inWsl, true);
    assert.equal(
      detectWsl(['lo', 'eth0'], { WSL_DISTRO_NAME: 'Ubuntu' }, () => undefined).inWsl,
      true,
    );
  });

  it('says not WSL on an ordinary kernel', () => {
    assert.deepEqual(detectWsl(['lo', 'eth0'], {}, release('6.1.0-18-amd64\n')), {
      inWsl: false,
      version: undefined,
      mode: undefined,
    });
    assert.deepEqual(
      detectWsl(['lo', 'loopback0'], {}, () => undefined),
      {
        inWsl: false,
        version: undefined,
        mode: undefined,
      },
    );
  });
});
