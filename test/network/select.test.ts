import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBeckonError } from '../../src/errors.js';
import {
  describeAddress,
  listInterfaces,
  type NetworkInterface,
} from '../../src/network/interfaces.js';
import { compileInterfacePattern, selectInterfaces } from '../../src/network/select.js';

const iface = (
  name: string,
  address: string,
  extra: Partial<NetworkInterface> = {},
): NetworkInterface => ({ ...describeAddress(name, address, 24, true, {}, false), ...extra });

const host = [
  iface('lo', '127.0.0.1', { loopback: true, netmask: '255.0.0.0', prefix: 8 }),
  iface('eth0', '192.168.1.10'),
  iface('veth1', '10.0.1.1'),
  iface('veth2', '10.0.2.1'),
  iface('wlan0', '169.254.3.3', { linkLocal: true }),
  iface('eth1', '10.9.0.1', { up: false }),
];

const names = (include: string[], exclude: string[] = []) =>
  selectInterfaces(
    host,
    include.map((p) => compileInterfacePattern('interfaces', p)),
    exclude.map((p) => compileInterfacePattern('exclude', p)),
  ).selected.map((i) => i.name);

describe('interface selection', () => {
  it('skips loopback, link-local and down interfaces by default', () => {
    assert.deepEqual(names([]), ['eth0', 'veth1', 'veth2']);
    const { skipped } = selectInterfaces(host, [], []);
    assert.deepEqual(
      skipped.map((s) => `${s.iface.name}:${s.reason}`),
      ['lo:loopback', 'wlan0:link-local', 'eth1:down'],
    );
  });

  it('selects by exact name, glob and CIDR', () => {
    assert.deepEqual(names(['eth0']), ['eth0']);
    assert.deepEqual(names(['veth*']), ['veth1', 'veth2']);
    assert.deepEqual(names(['veth?']), ['veth1', 'veth2']);
    assert.deepEqual(names(['10.0.0.0/8']), ['veth1', 'veth2']);
    assert.deepEqual(names(['eth']), []);
  });

  it('includes loopback and link-local when asked for', () => {
    assert.deepEqual(names(['lo']), ['lo']);
    assert.deepEqual(names(['wlan0', 'eth0']), ['eth0', 'wlan0']);
  });

  it('applies exclude after include', () => {
    assert.deepEqual(names(['veth*'], ['veth2']), ['veth1']);
    assert.deepEqual(names([], ['10.0.2.0/24']), ['eth0', 'veth1']);
  });

  it('rejects malformed CIDR patterns with the option name', () => {
    assert.throws(
      () => compileInterfacePattern('exclude', '10.0.0.0/40'),
      (e) =>
        isBeckonError(e, 'BECKON_ERR_INVALID_OPTION') && /exclude.*10\.0\.0\.0\/40/.test(e.message),
    );
  });

  it('lists this host with loopback marked', () => {
    const lo = listInterfaces().find((i) => i.address === '127.0.0.1');
    assert.ok(lo, 'loopback must be listed');
    assert.equal(lo.loopback, true);
    assert.equal(lo.prefix, 8);
    assert.equal(lo.broadcast, '127.255.255.255');
  });
});
