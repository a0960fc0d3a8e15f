import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli, serve, summary } from '../beckon.js';
import { startLab } from '../lab.js';

it('scenario 4: on an offline LAN with no default route the server answers with its LAN address', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: '10.4.0.10/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.4.0.20/24' } } },
  });
  if (!lab) return;
  assert.doesNotMatch(lab.host('server').ip('route'), /default/);
  const server = await serve(lab.host('server'));

  const found = await discoverCli(lab.host('client'), '--timeout', '1');
  assert.deepEqual(summary(found.servers), ['10.4.0.10:8000@eth0']); // no --http-port: 8000
  assert.match(server.stdout, /Replied to 10\.4\.0\.20:\d+ with SERVER_IP:10\.4\.0\.10\n/);
  assert.doesNotMatch(server.stdout, /127\.0\.0\.1/);
});
