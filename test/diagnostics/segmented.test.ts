import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { detectSegmentedNetwork } from '../../src/diagnostics/segmented.js';
import { describeAddress } from '../../src/network/interfaces.js';

const eth = (address: string, prefix: number, name = 'eth0') =>
  describeAddress(name, address, prefix, true, {});

describe('detectSegmentedNetwork', () => {
  it('flags a /16 in 10/8 with every detail and the fix', () => {
    const iface = eth('10.20.5.7', 16);
    assert.equal(iface.class, 'physical');
    assert.deepEqual(detectSegmentedNetwork([iface]), [
      {
        interface: 'eth0',
        address: '10.20.5.7',
        network: '10.20.0.0/16',
        prefix: 16,
        addresses: 65536,
        broadcast: '10.20.255.255',
        likelyBroadcastDomain: '10.20.5.0/24',
        segments: 256,
        segmentRange: '10.20.0.0/24 to 10.20.255.0/24',
        fix: 'beckon discover --target 10.20.N.0/24',
        scanRange: '10.20.0.0/16',
        scanFix: 'beckon discover --scan 10.20.0.0/16',
        scanSeconds: 256,
      },
    ]);
  });

  it('flags a /20 with 16 segments from its own network to its last /24', () => {
    const [finding, ...rest] = detectSegmentedNetwork([eth('10.1.16.5', 20)]);
    assert.equal(rest.length, 0);
    assert.equal(finding?.network, '10.1.16.0/20');
    assert.equal(finding?.addresses, 4096);
    assert.equal(finding?.segments, 16);
    assert.equal(finding?.broadcast, '10.1.31.255');
    assert.equal(finding?.likelyBroadcastDomain, '10.1.16.0/24');
    assert.equal(finding?.segmentRange, '10.1.16.0/24 to 10.1.31.0/24');
    assert.equal(finding?.fix, 'beckon discover --target 10.1.N.0/24');
    assert.equal(finding?.scanFix, 'beckon discover --scan 10.1.16.0/20');
    assert.equal(finding?.scanSeconds, 16);
  });

  it('flags a whole /8 and leaves two octets to fill in', () => {
    const [finding] = detectSegmentedNetwork([eth('10.3.4.5', 8)]);
    assert.equal(finding?.network, '10.0.0.0/8');
    assert.equal(finding?.addresses, 2 ** 24);
    assert.equal(finding?.segments, 65536);
    assert.equal(finding?.likelyBroadcastDomain, '10.3.4.0/24');
    assert.equal(finding?.segmentRange, '10.0.0.0/24 to 10.255.255.0/24');
    assert.ok(finding?.fix.includes('10.M.N.0/24'), finding?.fix);
    // A scan takes at most a /16: the one around this host.
    assert.equal(finding?.scanRange, '10.3.0.0/16');
  });

  it('flags 172.16/12 and carrier-grade NAT (100.64/10) subnets', () => {
    const [private172] = detectSegmentedNetwork([eth('172.20.1.1', 16)]);
    assert.equal(private172?.network, '172.20.0.0/16');
    assert.equal(private172?.segments, 256);
    assert.equal(private172?.likelyBroadcastDomain, '172.20.1.0/24');
    const [cgnat] = detectSegmentedNetwork([eth('100.64.3.4', 10)]);
    assert.equal(cgnat?.network, '100.64.0.0/10');
    assert.equal(cgnat?.segments, 2 ** 14);
    assert.equal(cgnat?.addresses, 2 ** 22);
    assert.equal(cgnat?.segmentRange, '100.64.0.0/24 to 100.127.255.0/24');
    assert.equal(cgnat?.broadcast, '100.127.255.255');
  });

  it('flags wireless and bridged (virtual) LAN interfaces too', () => {
    const wifi = describeAddress('wlan0', '10.50.7.8', 16, true, { wireless: true });
    const bridge = describeAddress('br0', '10.60.1.2', 16, true, { hardware: false });
    assert.equal(wifi.class, 'wireless');
    assert.equal(bridge.class, 'virtual');
    assert.deepEqual(
      detectSegmentedNetwork([wifi, bridge]).map((s) => s.interface),
      ['wlan0', 'br0'],
    );
  });

  it('does not flag a /24 or anything smaller', () => {
    for (const prefix of [24, 25, 28, 30, 31, 32])
      assert.deepEqual(detectSegmentedNetwork([eth('10.20.5.7', prefix)]), [], `/${prefix}`);
    // the first prefix that counts
    assert.equal(detectSegmentedNetwork([eth('10.20.5.7', 23)])[0]?.segments, 2);
  });

  it('does not flag 192.168/16 or public addresses', () => {
    assert.deepEqual(detectSegmentedNetwork([eth('192.168.0.5', 16)]), []);
    assert.deepEqual(detectSegmentedNetwork([eth('8.8.0.1', 16)]), []);
    assert.deepEqual(detectSegmentedNetwork([eth('172.32.0.1', 16)]), []); // just past 172.16/12
    assert.deepEqual(detectSegmentedNetwork([eth('100.128.0.1', 16)]), []); // just past 100.64/10
  });

  it('does not flag container bridges or VPN tunnels', () => {
    const docker = describeAddress('docker0', '172.17.0.1', 16, true, {});
    const dockerSysfs = describeAddress('docker0', '172.17.0.1', 16, true, { hardware: false });
    const wg = describeAddress('wg0', '10.8.0.2', 16, true, {});
    assert.equal(docker.class, 'container');
    assert.equal(dockerSysfs.class, 'container');
    assert.equal(wg.class, 'vpn');
    assert.deepEqual(detectSegmentedNetwork([docker, dockerSysfs, wg]), []);
  });

  it('does not flag interfaces that are down or loopback', () => {
    const down = describeAddress('eth0', '10.20.5.7', 16, false, {});
    const loopback = describeAddress('lo0', '10.20.5.7', 16, true, {}, true);
    assert.equal(loopback.class, 'loopback');
    assert.deepEqual(detectSegmentedNetwork([down, loopback]), []);
    // the same address up on a plain interface is flagged: the checks above are what excluded it
    assert.equal(detectSegmentedNetwork([eth('10.20.5.7', 16)]).length, 1);
  });

  it('puts a non-default port into the fix', () => {
    const [finding] = detectSegmentedNetwork([eth('10.20.5.7', 16)], { port: 5000 });
    assert.equal(finding?.fix, 'beckon discover --port 5000 --target 10.20.N.0/24');
    const [standard] = detectSegmentedNetwork([eth('10.20.5.7', 16)], { port: 9999 });
    assert.equal(standard?.fix, 'beckon discover --target 10.20.N.0/24');
  });

  it('gives one finding per flagged interface address, in order', () => {
    const findings = detectSegmentedNetwork([
      eth('10.20.5.7', 16, 'eth0'),
      eth('192.168.1.2', 24, 'eth1'),
      eth('172.20.1.1', 16, 'eth2'),
      describeAddress('docker0', '172.17.0.1', 16, true, {}),
      eth('10.99.0.1', 20, 'eth0'),
    ]);
    assert.deepEqual(
      findings.map((f) => `${f.interface} ${f.network}`),
      ['eth0 10.20.0.0/16', 'eth2 172.20.0.0/16', 'eth0 10.99.0.0/20'],
    );
  });

  it('returns nothing for no interfaces', () => {
    assert.deepEqual(detectSegmentedNetwork([]), []);
  });
});
