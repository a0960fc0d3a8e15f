/**
 * The server table with registry sightings (src/client/table.ts; docs/registry.md): a record's
 * addresses filed at once, an address heard on the LAN taking over from the registry, and a
 * path's addresses dropped when it loses the server. Pure.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toSightings } from '../../src/client/registry-path.js';
import { ServerTable, type Sighting } from '../../src/client/table.js';

const local = { ipv4: [], ipv6: [] };
const mode = { mode: 'extended', authenticated: false } as const;
const metadata = { instanceId: 'i-1', service: 'api', values: {} };

function lan(address: string): Sighting {
  return {
    address: { address, family: 'IPv4', interface: 'eth0', rtt: 0.5, via: 'broadcast' },
    port: 8080,
    source: address,
    sourcePort: 9999,
    raw: 'extended',
    foreign: false,
    metadata,
  };
}

const record = (addresses: string[]) =>
  toSightings({ metadata, addresses, port: 8080, lease: 15_000, goodbye: false }, '{"v":1}');

const paths = (table: ServerTable) =>
  table.servers()[0]?.addresses.map((a) => `${a.address} ${a.via}`) ?? [];

describe('server table: registry sightings', () => {
  it('a record is one new server with every usable address, its fields as documented', () => {
    const sightings = record(['10.0.0.5', '0.0.0.0', 'ff02::1', 'fe80::1', '::ffff:10.0.0.6']);
    assert.deepEqual(
      sightings.map((s) => s.address.address),
      ['10.0.0.5', '10.0.0.6'],
    );
    const table = new ServerTable(local, mode);
    const filed = table.addAll(sightings);
    assert.equal(filed.outcome, 'new');
    const [server] = table.servers();
    assert.equal(server?.via, 'registry');
    assert.equal(server?.source, '10.0.0.5');
    assert.equal(server?.sourcePort, 0);
    assert.equal(server?.rttMs, 0);
    assert.equal(server?.raw, '{"v":1}');
    assert.equal(table.addAll(sightings).outcome, 'duplicate');
    assert.equal(table.addAll(record(['10.0.0.7'])).outcome, 'new-address');
  });

  it('an address heard on the LAN takes over from the registry: a new path', () => {
    const table = new ServerTable(local, mode);
    table.addAll(record(['10.0.0.5', '10.9.9.9']));
    assert.equal(table.add(lan('10.0.0.5')).outcome, 'new-address');
    assert.equal(table.add(lan('10.0.0.5')).outcome, 'duplicate');
    assert.deepEqual(paths(table), ['10.0.0.5 broadcast', '10.9.9.9 registry']);
    // The registry saying it again changes nothing: the LAN's sighting stays.
    assert.equal(table.addAll(record(['10.0.0.5', '10.9.9.9'])).outcome, 'duplicate');
    assert.equal(table.servers()[0]?.via, 'broadcast');
  });

  it('a path that lost the server: its addresses go, the other path stays', () => {
    const table = new ServerTable(local, mode);
    const { id } = table.add(lan('10.0.0.5')) as { id: number };
    table.addAll(record(['10.0.0.5', '10.9.9.9']));
    const fromRegistry = (s: Sighting) => s.address.via === 'registry';
    // The registry lost it: its addresses go.
    assert.equal(
      table.prune(id, (s) => !fromRegistry(s)),
      true,
    );
    assert.deepEqual(paths(table), ['10.0.0.5 broadcast']);
    // The LAN lost it too: nothing would be left, so nothing goes (the caller reports down).
    assert.equal(table.prune(id, fromRegistry), false);
    // The LAN lost it while the registry holds it: the registry's addresses instead.
    assert.equal(table.prune(id, fromRegistry, record(['10.0.0.5', '10.9.9.9'])), true);
    assert.deepEqual(paths(table), ['10.0.0.5 registry', '10.9.9.9 registry']);
    assert.equal(table.servers()[0]?.via, 'registry');
    assert.equal(table.idOf('i-1'), id);
  });
});
