import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli, summary } from '../beckon.js';
import { ROOT, startLab } from '../lab.js';

it('an HTTP server bound to one of two LAN addresses is advertised only on that subnet', async (t) => {
  const lab = await startLab(t, {
    server: {
      interfaces: {
        eth0: { segment: 'office', address: '10.11.1.10/24' },
        eth1: { segment: 'lab', address: '10.11.2.10/24' },
      },
    },
    office: { interfaces: { eth0: { segment: 'office', address: '10.11.1.20/24' } } },
    lab: { interfaces: { eth0: { segment: 'lab', address: '10.11.2.20/24' } } },
  });
  if (!lab) return;
  const app = lab
    .host('server')
    .spawn(process.execPath, [
      '--import',
      'tsx',
      `${ROOT}test/lab/drivers/http-app.ts`,
      '10.11.2.10',
      '8080',
    ]);
  await app.waitFor(/ready answering/);
  assert.match(
    app.stderr,
    /listens on 10\.11\.2\.10 only: discovery answers only requesters that reach this host at 10\.11\.2\.10/,
  );

  const onLab = await discoverCli(lab.host('lab'), '--timeout', '1');
  assert.deepEqual(summary(onLab.servers), ['10.11.2.10:8080@eth0']);
  const response = await lab
    .host('lab')
    .run(process.execPath, [
      '-e',
      'fetch("http://10.11.2.10:8080").then(async (r) => console.log(r.status, await r.text()))',
    ]);
  assert.equal(response.stdout, '200 lab app\n\n');
  // The office subnet would be sent 10.11.1.10, where nothing listens: it gets no answer.
  const onOffice = await discoverCli(lab.host('office'), '--timeout', '1');
  assert.equal(onOffice.status, 1);
  assert.deepEqual(onOffice.servers, []);

  assert.deepEqual(await app.stop('SIGTERM'), { status: 0, signal: null });
});
