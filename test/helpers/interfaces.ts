/** Made-up interfaces for tests that inject an `interfaceProvider`. */
import type { NetworkInterface } from '../../src/network/interfaces.js';

/** An IPv4 interface entry on a /24, as `listInterfaces()` lists one (169.254/16: link-local). */
export function ipv4(name: string, address: string, loopback = false): NetworkInterface {
  return {
    name,
    address,
    netmask: '255.255.255.0',
    prefix: 24,
    broadcast: undefined,
    loopback,
    linkLocal: address.startsWith('169.254.'),
    up: true,
    class: loopback ? 'loopback' : 'physical',
  };
}
