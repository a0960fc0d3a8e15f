import assert from 'node:assert/strict';
import { it } from 'node:test';
import { requirePrerequisite } from '../../helpers/prerequisite.js';
import { serve } from '../beckon.js';
import { hasCommand, startLab } from '../lab.js';

it('socat, a tool no one here wrote, gets the expected replies by unicast and by broadcast', async (t) => {
  if (!requirePrerequisite(t, hasCommand('socat'), 'socat')) return;
  const lab = await startLab(t, {
    one: { interfaces: { eth0: { segment: 'lan', address: '10.10.0.10/24' } } },
    two: { interfaces: { eth0: { segment: 'lan', address: '10.10.0.11/24' } } },
    probe: { interfaces: { eth0: { segment: 'lan', address: '10.10.0.20/24' } } },
  });
  if (!lab) return;
  await serve(lab.host('one'), '--http-port', '8080');
  await serve(lab.host('two'));
  const probe = lab.host('probe');
  // socat reads the request from stdin (no newline) and prints every datagram it gets back.
  const ask = (address: string, request = 'DISCOVER_SERVER') =>
    probe.run('socat', ['-T', '1', '-', address], { input: request });

  const unicast = await ask('UDP4:10.10.0.10:9999');
  assert.equal(unicast.status, 0, unicast.stderr);
  assert.equal(unicast.stdout, 'SERVER_IP:10.10.0.10:8080');

  const broadcast = await ask('UDP4-DATAGRAM:10.10.0.255:9999,broadcast');
  assert.equal(broadcast.status, 0, broadcast.stderr);
  assert.deepEqual(broadcast.stdout.match(/SERVER_IP:[\d.:]+?(?=SERVER_IP|$)/g)?.sort(), [
    'SERVER_IP:10.10.0.10:8080',
    'SERVER_IP:10.10.0.11',
  ]);

  // `echo DISCOVER_SERVER | socat ...` sends a newline too: like the original, no answer.
  const withNewline = await ask('UDP4:10.10.0.10:9999', 'DISCOVER_SERVER\n');
  assert.equal(withNewline.status, 0, withNewline.stderr);
  assert.equal(withNewline.stdout, '');
});
