/** The client's table of servers: one entry per logical server (src/client/table.ts). Pure. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ServerAddress } from '../../src/client/addresses.js';
import { ServerTable, type Sighting } from '../../src/client/table.js';
import type { ServerMetadata } from '../../src/protocol/extended.js';

const local = { ipv4: [], ipv6: [] };
const plainMode = { mode: 'plain', authenticated: false } as const;

function seen(address: string, options: { instance?: string; rtt?: number; port?: number } = {}) {
  const family = address.includes(':') ? 'IPv6' : 'IPv4';
  const where: ServerAddress = {
    address,
    family,
    interface: 'eth0',
    rtt: options.rtt ?? 1,
    via: 'broadcast',
  };
  const metadata: ServerMetadata | undefined =
    options.instance === undefined ? undefined : { instanceId: options.instance, values: {} };
  const sighting: Sighting = {
    address: where,
    port: options.port ?? 8080,
    source: address.split('%')[0] ?? address,
    sourcePort: 9999,
    raw: metadata ? 'extended' : `SERVER_IP:${address}:${options.port ?? 8080}`,
    foreign: false,
    metadata,
  };
  return sighting;
}

describe('server table', () => {
  it('original servers: one entry per ip:port, as the original client dedupes', () => {
    const table = new ServerTable(local, plainMode);
    assert.equal(table.add(seen('10.0.0.5')).outcome, 'new');
    assert.equal(table.add(seen('10.0.0.5')).outcome, 'duplicate');
    assert.equal(table.add(seen('10.0.0.5', { port: 8081 })).outcome, 'new');
    assert.equal(table.add(seen('10.0.0.6')).outcome, 'new');
    assert.deepEqual(
      table.servers().map((s) => s.url),
      ['http://10.0.0.5:8080', 'http://10.0.0.5:8081', 'http://10.0.0.6:8080'],
    );
  });

  it('one instance on several paths is one server with every address', () => {
    const table = new ServerTable(local, plainMode);
    assert.equal(table.add(seen('10.0.0.5', { instance: 'a', rtt: 1.5 })).outcome, 'new');
    assert.equal(table.add(seen('fe80::5%eth0', { instance: 'a' })).outcome, 'new-address');
    assert.equal(table.add(seen('fd00::5', { instance: 'a' })).outcome, 'new-address');
    assert.equal(table.add(seen('fd00::5', { instance: 'a' })).outcome, 'duplicate');
    const [server, ...others] = table.servers();
    assert.deepEqual(others, []);
    assert.deepEqual(
      server?.addresses.map((a) => a.address),
      ['10.0.0.5', 'fd00::5', 'fe80::5%eth0'],
    );
    assert.equal(server?.ip, '10.0.0.5');
    assert.equal(server?.family, 'IPv4');
    assert.equal(server?.metadata?.instanceId, 'a');
  });

  it('a plain reply and an IPv6 answer heard apart become one when an answer names both', () => {
    const table = new ServerTable(local, plainMode);
    assert.equal(table.add(seen('10.0.0.5')).outcome, 'new');
    assert.equal(table.add(seen('fe80::5%eth0', { instance: 'a' })).outcome, 'new');
    assert.equal(table.size, 2);
    // The IPv4 answer to the extended request: the same ip:port, and instance a.
    assert.equal(table.add(seen('10.0.0.5', { instance: 'a' })).outcome, 'duplicate');
    assert.equal(table.size, 1);
    const [server] = table.servers();
    assert.deepEqual(
      server?.addresses.map((a) => a.address),
      ['10.0.0.5', 'fe80::5%eth0'],
    );
    // The first heard keeps its place and its reply text; the instance joins it.
    assert.equal(server?.raw, 'SERVER_IP:10.0.0.5:8080');
    assert.equal(server?.metadata?.instanceId, 'a');
  });

  it('an address heard again keeps its first sighting and the lowest RTT', () => {
    const table = new ServerTable(local, plainMode);
    table.add(seen('10.0.0.5', { rtt: 5 }));
    table.add(seen('10.0.0.5', { instance: 'a', rtt: 2 }));
    const [server] = table.servers();
    assert.equal(server?.rttMs, 2);
    assert.equal(server?.raw, 'SERVER_IP:10.0.0.5:8080');
  });

  it('a link-local only server gets its zone in ip and an RFC 6874 url', () => {
    const table = new ServerTable(local, plainMode);
    table.add(seen('fe80::5%eth0', { instance: 'b' }));
    const [server] = table.servers();
    assert.equal(server?.ip, 'fe80::5%eth0');
    assert.equal(server?.url, 'http://[fe80::5%25eth0]:8080');
  });

  it('keeps one instance id per server: another id on a known ip:port is another server', () => {
    const table = new ServerTable(local, plainMode);
    assert.equal(table.add(seen('10.0.0.5', { instance: 'a' })).outcome, 'new');
    assert.equal(table.add(seen('10.0.0.5', { instance: 'b' })).outcome, 'new');
    assert.equal(table.add(seen('fe80::5%eth0', { instance: 'a' })).outcome, 'new-address');
    assert.deepEqual(
      table.servers().map((s) => [s.metadata?.instanceId, s.addresses.length]),
      [
        ['a', 2],
        ['b', 1],
      ],
    );
  });

  it('refuses a new server when told to, but still files under a known one', () => {
    const table = new ServerTable(local, plainMode);
    table.add(seen('10.0.0.5', { instance: 'a' }));
    assert.equal(table.add(seen('10.0.0.6'), false).outcome, 'refused');
    assert.equal(table.add(seen('fd00::5', { instance: 'a' }), false).outcome, 'new-address');
    assert.equal(table.size, 1);
  });
});
