import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli, serve, summary } from '../beckon.js';
import { startLab } from '../lab.js';

it('scenario 7a: two servers on one subnet are both found, each with its own HTTP port', async (t) => {
  const lab = await startLab(t, {
    api: { interfaces: { eth0: { segment: 'lan', address: '10.7.0.10/24' } } },
    web: { interfaces: { eth0: { segment: 'lan', address: '10.7.0.11/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.7.0.20/24' } } },
  });
  if (!lab) return;
  await serve(lab.host('api'), '--http-port', '3000');
  await serve(lab.host('web'), '--http-port', '8080');
  const found = await discoverCli(lab.host('client'), '--timeout', '1');
  assert.deepEqual(summary(found.servers), ['10.7.0.10:3000@eth0', '10.7.0.11:8080@eth0']);
});

it('scenario 7b: of two responders racing for one UDP port on a host, the second fails clearly', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: '10.7.1.10/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.7.1.20/24' } } },
  });
  if (!lab) return;
  const host = lab.host('server');
  // Started together: which one wins is up to the kernel, that exactly one does is not.
  const racers = [
    host.beckon('serve', '--http-port', '1111'),
    host.beckon('serve', '--http-port', '2222'),
  ];
  const outcomes = await Promise.all(
    racers.map((racer) =>
      racer.waitFor(/\[OK\] Listening on 0\.0\.0\.0:9999/).then(
        () => 'listening',
        async () => `exit ${(await racer.exited).status}`,
      ),
    ),
  );
  assert.deepEqual([...outcomes].sort(), ['exit 1', 'listening']);
  const loser = racers[outcomes.indexOf('exit 1')];
  const winner = racers[outcomes.indexOf('listening')];
  assert.match(loser?.stderr ?? '', /UDP port 9999 is already in use on 0\.0\.0\.0/);

  const found = await discoverCli(lab.host('client'), '--timeout', '1');
  const port = winner === racers[0] ? 1111 : 2222;
  assert.deepEqual(summary(found.servers), [`10.7.1.10:${port}@eth0`]);
  assert.deepEqual(await winner?.stop(), { status: 0, signal: null });
});
