import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli, serve, summary } from '../beckon.js';
import { startLab } from '../lab.js';

it("scenario 8: when the server's address changes while it runs, the next reply carries the new one", async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: '10.8.0.10/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.8.0.20/24' } } },
  });
  if (!lab) return;
  const server = lab.host('server');
  const client = lab.host('client');
  const running = await serve(server, '--http-port', '8080');
  assert.deepEqual(summary((await discoverCli(client, '--timeout', '1')).servers), [
    '10.8.0.10:8080@eth0',
  ]);

  // A new DHCP lease: the old address goes, a new one comes, the process keeps running.
  // (In this order: deleting a primary address also deletes the secondaries of its subnet.)
  server.ip('addr', 'del', '10.8.0.10/24', 'dev', 'eth0');
  server.ip('addr', 'add', '10.8.0.11/24', 'dev', 'eth0');
  assert.deepEqual(summary((await discoverCli(client, '--timeout', '1')).servers), [
    '10.8.0.11:8080@eth0',
  ]);

  // Renumbered into another subnet: the client moves too, and still gets the right address.
  server.ip('addr', 'flush', 'dev', 'eth0');
  server.ip('addr', 'add', '192.168.8.10/24', 'dev', 'eth0');
  client.ip('addr', 'flush', 'dev', 'eth0');
  client.ip('addr', 'add', '192.168.8.20/24', 'dev', 'eth0');
  assert.deepEqual(summary((await discoverCli(client, '--timeout', '1')).servers), [
    '192.168.8.10:8080@eth0',
  ]);
  assert.equal(running.done, false);
});
