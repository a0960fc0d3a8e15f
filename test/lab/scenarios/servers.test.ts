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

it('scenario 7b: of two responders racing for one UDP port on a host, one answers for both', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { eth0: { segment: 'lan', address: '10.7.1.10/24' } } },
    client: { interfaces: { eth0: { segment: 'lan', address: '10.7.1.20/24' } } },
  });
  if (!lab) return;
  const host = lab.host('server');
  // Started together: which one wins is up to the kernel; that one answers and the other
  // registers with it is not.
  const racers = [
    host.beckon('serve', '--http-port', '1111'),
    host.beckon('serve', '--http-port', '2222'),
  ];
  const outcomes = await Promise.all(
    racers.map((racer) =>
      racer
        .waitFor(/\[OK\] (Listening on 0\.0\.0\.0:9999|Registered with the beckon process)/)
        .then(
          () => (/\[OK\] Listening/.test(racer.stdout) ? 'listening' : 'registered'),
          async () => `exit ${(await racer.exited).status}: ${racer.stderr}`,
        ),
    ),
  );
  assert.deepEqual([...outcomes].sort(), ['listening', 'registered']);
  const found = await discoverCli(lab.host('client'), '--timeout', '1');
  assert.deepEqual(summary(found.servers), ['10.7.1.10:1111@eth0', '10.7.1.10:2222@eth0']);
  for (const racer of racers) assert.deepEqual(await racer.stop(), { status: 0, signal: null });

  // With sharing off, the second fails clearly, naming the holder.
  const first = host.beckon('serve', '--http-port', '1111');
  await first.waitFor(/\[OK\] Listening on 0\.0\.0\.0:9999/);
  const loser = host.beckon('serve', '--http-port', '2222', '--no-share');
  assert.equal((await loser.exited).status, 1);
  assert.match(
    loser.stderr,
    /UDP port 9999 is taken by pid \d+ \(.*serve --http-port 1111\), and this responder does not share it/,
  );
  assert.deepEqual(await first.stop(), { status: 0, signal: null });
});
