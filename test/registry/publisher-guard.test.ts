/**
 * The registration's timer calls user code (the logger): what it throws must not reach the host
 * process. A real etcd on loopback; the responder joins no group and announces nothing.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createResponder } from '../../src/index.js';
import type { Logger } from '../../src/logger.js';
import { decodeRecord, recordKey } from '../../src/registry/record.js';
import { connectEtcd, startEtcd } from '../helpers/etcd.js';
import { ipv4 } from '../helpers/interfaces.js';

it('a logger that throws when the addresses change: the record is rewritten, nothing escapes', async (t) => {
  const etcd = await startEtcd(t);
  if (!etcd) return;
  const connection = await connectEtcd(t, etcd);
  const crashes: unknown[] = [];
  const onCrash = (error: unknown) => crashes.push(error);
  process.on('uncaughtException', onCrash);
  t.after(() => process.off('uncaughtException', onCrash));
  let broken = false; // after start: start() itself may throw what its logger throws
  const throwing: Logger = {
    debug: () => {
      if (broken) throw new Error('logger broke');
    },
    info: () => {},
    warn: () => {},
    error: () => {},
  };
  let interfaces = [ipv4('eth0', '10.0.0.5')];
  const responder = createResponder({
    port: 0,
    env: {},
    joinGroups: false,
    announce: false, // the interfaces are made up: nothing may be announced on them
    logger: throwing,
    registry: etcd.url,
    instanceId: 'guarded',
    interfaceProvider: () => interfaces,
    interfaceProvider6: () => [],
    interfacePollInterval: 100,
  });
  t.after(() => responder.stop());
  await responder.start();
  const key = recordKey('beckon/', undefined, 'guarded');
  const addresses = async () => {
    const entry = (await connection.list(key).catch(() => [])).find((e) => e.key === key);
    const decoded = entry && decodeRecord(key, entry.value);
    return decoded?.ok ? decoded.record.addresses.join() : undefined;
  };
  const until = async (want: string) => {
    const deadline = Date.now() + 10_000;
    while ((await addresses()) !== want) {
      assert.ok(Date.now() < deadline, `timed out waiting for ${want}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  await until('10.0.0.5');
  broken = true;
  interfaces = [ipv4('eth1', '10.0.1.7')];
  await until('10.0.1.7');
  assert.deepEqual(crashes, []);
});
