import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyInterface } from '../../src/network/classify.js';
import type { LinkFacts } from '../../src/network/link-facts.js';

const plain = { loopback: false, linkLocal: false };
const classify = (name: string, facts: LinkFacts = {}) => classifyInterface(name, facts, plain);

describe('classifyInterface', () => {
  it('says loopback for a loopback address or the loopback ARP type (772)', () => {
    assert.equal(classifyInterface('lo', {}, { loopback: true, linkLocal: false }), 'loopback');
    assert.equal(classify('lo', { type: 772 }), 'loopback');
    assert.equal(classify('eth0', { type: 772, hardware: true }), 'loopback');
    // loopback wins over every other fact and name
    assert.equal(
      classifyInterface('wg0', { tun: true }, { loopback: true, linkLocal: true }),
      'loopback',
    );
  });

  it('says link-local for a 169.254 address, before anything but loopback', () => {
    assert.equal(classifyInterface('eth0', {}, { loopback: false, linkLocal: true }), 'link-local');
    assert.equal(
      classifyInterface('wg0', { tun: true, hardware: true }, { loopback: false, linkLocal: true }),
      'link-local',
    );
  });

  it('says vpn from the tun flag, the wireguard devtype and the tunnel ARP types', () => {
    assert.equal(classify('something', { tun: true }), 'vpn');
    assert.equal(classify('office', { devtype: 'wireguard' }), 'vpn');
    assert.equal(classify('link1', { type: 512 }), 'vpn'); // PPP
    assert.equal(classify('link2', { type: 65534 }), 'vpn'); // none: tun, WireGuard
    assert.equal(classify('corp', { type: 65534, hardware: true }), 'vpn');
    // an Ethernet type is not a tunnel
    assert.equal(classify('link3', { type: 1, hardware: true }), 'physical');
  });

  it('says vpn from the usual tunnel names', () => {
    for (const name of ['wg0', 'tun0', 'tailscale0', 'utun3', 'ppp0', 'tap1', 'my-vpn', 'nordlynx'])
      assert.equal(classify(name), 'vpn', name);
  });

  it('says container from container network names, even when sysfs says no hardware', () => {
    for (const name of ['docker0', 'br-0123456789ab', 'cni0', 'podman1', 'lxdbr0']) {
      assert.equal(classify(name), 'container', name);
      assert.equal(
        classify(name, { hardware: false, devtype: 'bridge', type: 1 }),
        'container',
        name,
      );
    }
    // br- with anything but 12 hex digits is not Docker's
    assert.notEqual(classify('br-lan'), 'container');
  });

  it('says wireless from the facts and, without facts, from the name', () => {
    assert.equal(classify('wlp2s0', { wireless: true, hardware: true }), 'wireless');
    assert.equal(classify('radio0', { devtype: 'wlan', hardware: true }), 'wireless');
    assert.equal(classify('radio1', { wireless: true }), 'wireless');
    assert.equal(classify('wlan0'), 'wireless');
    assert.equal(classify('Wi-Fi'), 'wireless');
    assert.equal(classify('WiFi 2'), 'wireless');
  });

  it('says physical when a bus device backs the link', () => {
    assert.equal(classify('eth0', { hardware: true, type: 1 }), 'physical');
    assert.equal(classify('enp3s0', { hardware: true }), 'physical');
    // facts win over a virtual-looking name
    assert.equal(classify('vboxnet0', { hardware: true }), 'physical');
  });

  it('says virtual when Linux says there is no device behind the link', () => {
    assert.equal(
      classify('veth1a2b3c', { hardware: false, devtype: undefined, type: 1 }),
      'virtual',
    );
    assert.equal(classify('br0', { hardware: false, devtype: 'bridge', type: 1 }), 'virtual');
    assert.equal(classify('lan', { hardware: false }), 'virtual');
    // even a wired-looking name
    assert.equal(classify('eth1', { hardware: false }), 'virtual');
  });

  it('says virtual from software link names when there are no facts', () => {
    for (const name of ['vboxnet0', 'virbr0', 'veth0', 'vmnet8', 'vEthernet (WSL)', 'dummy0'])
      assert.equal(classify(name), 'virtual', name);
  });

  it('falls back to physical for names it does not know', () => {
    for (const name of ['en0', 'Ethernet 2', 'eth0', 'ens18', 'x'])
      assert.equal(classify(name), 'physical', name);
  });
});
