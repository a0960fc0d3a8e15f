/**
 * `scan: 'auto'` beside a registry: what the registry found says nothing of this LAN, so it does
 * not skip the scan (docs/beyond-one-lan.md: "If broadcast found something"). The host is made to
 * look as if eth0 were 10.20.5.7/16; the run's sockets record what they would send and send
 * nothing. A real etcd on loopback.
 */
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { it } from 'node:test';
import type { TraceEvent } from '../../src/client/trace.js';
import { discover } from '../../src/index.js';
import { describeAddress } from '../../src/network/interfaces.js';
import type { SocketFactory } from '../../src/network/socket.js';
import { startEtcd } from '../helpers/etcd.js';
import { recordWriter } from '../helpers/registry-records.js';

function recordingSockets(sent: string[]): SocketFactory {
  return (options) => {
    const socket = createSocket(options);
    socket.send = ((_message: Buffer, _port: number, address: string, callback?: () => void) => {
      sent.push(address);
      queueMicrotask(() => callback?.());
    }) as unknown as Socket['send'];
    return socket;
  };
}

it('auto: a server found through the registry does not skip the scan of a segmented LAN', async (t) => {
  const etcd = await startEtcd(t);
  if (!etcd) return;
  const records = recordWriter(t, etcd);
  await records.put({ instanceId: 'far-1', addresses: ['192.0.2.40'], port: 8080 });
  const sent: string[] = [];
  const events: TraceEvent[] = [];
  const controller = new AbortController();
  const run = discover({
    port: 9,
    env: {},
    broadcast: false,
    scan: 'auto',
    scanRate: 2000,
    registry: etcd.url,
    socketFactory: recordingSockets(sent),
    interfaceProvider: () => [describeAddress('eth0', '10.20.5.7', 16, true, {})],
    signal: controller.signal,
    trace: (event) => {
      events.push(event);
      if (event.type === 'scan-progress' || event.type === 'scan-skipped') {
        controller.abort(new Error('seen enough'));
      }
    },
  });
  await assert.rejects(run, /seen enough/);
  const registry = events.filter((e) => e.type === 'registry' && e.action === 'record');
  assert.ok(registry.length > 0, 'the registry record was read first');
  const skipped = events.find((e) => e.type === 'scan-skipped');
  assert.equal(skipped, undefined, JSON.stringify(skipped));
  const start = events.find((e) => e.type === 'scan-start');
  assert.ok(start, 'a scan started');
  assert.ok(sent.some((to) => to.startsWith('10.20.5.')));
});
