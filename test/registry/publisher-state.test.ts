/**
 * The registration's state says what is in the registry: a host with no routable address is not
 * `registered` (nothing is), until an address comes. A real etcd on loopback; the responder joins
 * no group and announces nothing (its interfaces are made up).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createResponder } from '../../src/index.js';
import { recordKey } from '../../src/registry/record.js';
import { connectEtcd, startEtcd } from '../helpers/etcd.js';
import { ipv4 } from '../helpers/interfaces.js';
import { recordingLogger } from '../helpers/logger.js';
import { until } from '../helpers/wait.js';

it('no routable address: not registered until one comes, then registered', async (t) => {
  const etcd = await startEtcd(t);
  if (!etcd) return;
  const connection = await connectEtcd(t, etcd);
  const logger = recordingLogger();
  const infos: string[] = [];
  logger.info = (message: string) => void infos.push(message);
  let interfaces = [ipv4('lo', '127.0.0.1', true)];
  const responder = createResponder({
    port: 0,
    env: {},
    joinGroups: false,
    announce: false,
    logger,
    registry: etcd.url,
    instanceId: 'homeless',
    interfaceProvider: () => interfaces,
    interfaceProvider6: () => [],
    interfacePollInterval: 100,
  });
  t.after(() => responder.stop());
  const states: string[] = [];
  responder.on('registry', ({ state }) => states.push(state));
  await responder.start();
  const key = recordKey('beckon/', undefined, 'homeless');
  const stored = async () => (await connection.list(key).catch(() => [])).length > 0;
  await until(
    () => logger.warnings.some((w) => w.includes('no routable address')),
    5000,
    'the warning',
  );
  await new Promise((resolve) => setTimeout(resolve, 1000)); // a registration would be done by now
  assert.deepEqual(states, ['connecting']);
  assert.ok(!infos.some((m) => m.startsWith('Registered')), infos.join('\n'));
  assert.equal(await stored(), false);
  interfaces = [ipv4('eth0', '10.0.0.5')];
  await until(stored, 5000, 'the record');
  await until(() => states.includes('registered'), 5000, 'registered');
  assert.deepEqual(states, ['connecting', 'registered']);
});

it('every routable address gone: the record goes (goodbye first) and the state is connecting again', async (t) => {
  const etcd = await startEtcd(t);
  if (!etcd) return;
  const connection = await connectEtcd(t, etcd);
  const key = recordKey('beckon/', undefined, 'moving');
  const seen: string[] = [];
  const watch = connection.watch(key, {
    sync: () => {},
    put: ({ value }) => seen.push(JSON.parse(value).gone === true ? 'goodbye' : 'put'),
    delete: () => seen.push('delete'),
    state: () => {},
  });
  t.after(() => watch.close());
  let interfaces = [ipv4('eth0', '10.0.0.5')];
  const responder = createResponder({
    port: 0,
    env: {},
    joinGroups: false,
    announce: false,
    logger: recordingLogger(),
    registry: etcd.url,
    instanceId: 'moving',
    interfaceProvider: () => interfaces,
    interfaceProvider6: () => [],
    interfacePollInterval: 100,
  });
  t.after(() => responder.stop());
  const states: string[] = [];
  responder.on('registry', ({ state }) => states.push(state));
  await responder.start();
  const stored = async () => (await connection.list(key).catch(() => [])).length > 0;
  await until(() => states.includes('registered'), 5000, 'registered');
  interfaces = [ipv4('lo', '127.0.0.1', true)];
  await until(async () => !(await stored()), 5000, 'the record gone');
  await until(() => states.at(-1) === 'connecting', 5000, 'connecting again');
  await until(() => seen.includes('delete'), 5000, 'the delete');
  assert.deepEqual(seen.slice(-2), ['goodbye', 'delete']);
  interfaces = [ipv4('eth0', '10.0.0.6')];
  await until(stored, 5000, 'the record back');
  await until(() => states.at(-1) === 'registered', 5000, 'registered again');
});
