import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli, discoverLib, serve, summary } from '../beckon.js';
import { startLab } from '../lab.js';

it('scenario 1: on a flat /24 LAN, two clients both find the server by its LAN address', async (t) => {
  const lab = await startLab(t, {
    server: {
      interfaces: { eth0: { segment: 'lan', address: '10.1.0.10/24' } },
      gateway: '10.1.0.1',
    },
    alice: {
      interfaces: { eth0: { segment: 'lan', address: '10.1.0.21/24' } },
      gateway: '10.1.0.1',
    },
    bob: { interfaces: { eth0: { segment: 'lan', address: '10.1.0.22/24' } }, gateway: '10.1.0.1' },
  });
  if (!lab) return;
  await serve(lab.host('server'), '--http-port', '8080');

  const cli = await discoverCli(lab.host('alice'), '--timeout', '1');
  assert.equal(cli.status, 0, cli.run.stderr);
  assert.deepEqual(summary(cli.servers), ['10.1.0.10:8080@eth0']);
  assert.equal(cli.servers[0]?.url, 'http://10.1.0.10:8080');

  const lib = await discoverLib(lab.host('bob'), { timeout: 1000 });
  assert.deepEqual(summary(lib), ['10.1.0.10:8080@eth0']);
  assert.equal(lib[0]?.source, '10.1.0.10');
});
