import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli, discoverLib, serve, summary } from '../beckon.js';
import { startLab } from '../lab.js';

it("scenario 2: a server on two subnets answers each client with its own subnet's address", async (t) => {
  const lab = await startLab(t, {
    server: {
      interfaces: {
        eth0: { segment: 'office', address: '10.2.1.10/24' },
        eth1: { segment: 'lab', address: '10.2.2.10/24' },
      },
      gateway: '10.2.1.1', // the default route is on eth0: the original advertised 10.2.1.10 to all
    },
    office: { interfaces: { eth0: { segment: 'office', address: '10.2.1.20/24' } } },
    lab: { interfaces: { eth0: { segment: 'lab', address: '10.2.2.20/24' } } },
  });
  if (!lab) return;
  await serve(lab.host('server'), '--http-port', '8080');

  const office = await discoverCli(lab.host('office'), '--timeout', '1');
  assert.deepEqual(summary(office.servers), ['10.2.1.10:8080@eth0']);
  const other = await discoverCli(lab.host('lab'), '--timeout', '1');
  assert.deepEqual(summary(other.servers), ['10.2.2.10:8080@eth0']);
  assert.equal(other.servers[0]?.source, '10.2.2.10');
});

it('scenario 3: a client on two subnets finds the servers of both, each once, with its interface', async (t) => {
  const lab = await startLab(t, {
    client: {
      interfaces: {
        eth0: { segment: 'a', address: '10.3.1.20/24' },
        eth1: { segment: 'b', address: '10.3.2.20/24' },
      },
    },
    one: { interfaces: { eth0: { segment: 'a', address: '10.3.1.10/24' } } },
    two: { interfaces: { eth0: { segment: 'b', address: '10.3.2.10/24' } } },
  });
  if (!lab) return;
  await serve(lab.host('one'), '--http-port', '8001');
  await serve(lab.host('two'), '--http-port', '8002');

  const expected = ['10.3.1.10:8001@eth0', '10.3.2.10:8002@eth1'];
  const cli = await discoverCli(lab.host('client'), '--timeout', '1');
  assert.equal(cli.status, 0, cli.run.stderr);
  assert.deepEqual(summary(cli.servers), expected);
  assert.deepEqual(summary(await discoverLib(lab.host('client'), { timeout: 1000 })), expected);
  // Restricting to one interface finds only the server on that side.
  const only = await discoverCli(lab.host('client'), '--timeout', '1', '--interface', 'eth1');
  assert.deepEqual(summary(only.servers), ['10.3.2.10:8002@eth1']);
});
