/**
 * `beckon/testing`: a simulated network in memory, so that apps built on beckon test their
 * discovery without sockets, root or a network (docs/testing-your-app.md). It loads nothing of
 * beckon that opens sockets, and never `node:dgram` or `node:net`: several responders on one
 * simulated host share the port over the host's in-memory channel (`host.hostChannel`).
 *
 * @example
 * const network = createTestNetwork({ seed: 1 });
 * const lan = network.lan({ name: 'office', ipv4: '10.0.0.0/24' });
 * const server = network.host({ name: 'server', interfaces: [{ lan, ipv4: '10.0.0.5' }] });
 * const kiosk = network.host({ name: 'kiosk', interfaces: [{ lan }] });
 * const responder = await createResponder({ ...network.responderOptions(server), port: 5000 });
 * const found = await discover({ ...network.clientOptions(kiosk), port: 5000 });
 */
import { TestNetwork, type TestNetworkOptions } from './network.js';

export type { HostOptions, InterfaceOptions, LinkControl } from './host.js';
export { TestHost } from './host.js';
export type { LanOptions } from './lan.js';
export { TestLan } from './lan.js';
export type {
  RouterOptions,
  SimulatedClientOptions,
  SimulatedResponderOptions,
  TestNetworkOptions,
} from './network.js';
export { TestNetwork } from './network.js';
export { TestSocket } from './socket.js';
export { type MockedTime, mockTime } from './time.js';

/** A new simulated network, empty: add LANs, hosts and routers to it. */
export function createTestNetwork(options: TestNetworkOptions = {}): TestNetwork {
  return new TestNetwork(options);
}
