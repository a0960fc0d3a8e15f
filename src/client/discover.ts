/**
 * The discovery views: `discover()` (every server until the deadline), `discoverOne()` (the
 * first) and `discoverStream()` (each as it arrives), all over one {@link DiscoveryEngine} run.
 */
import { debugLogger } from '../logger.js';
import { listInterfaces } from '../network/interfaces.js';
import { createUdpSocket } from '../network/socket.js';
import { DiscoveryEngine } from './engine.js';
import {
  type DiscoverCallerOptions,
  type DiscoverOptions,
  resolveDiscoverSettings,
} from './options.js';
import { ClientProtocol } from './protocol.js';
import type { Server } from './server.js';
import { createTracer } from './trace.js';

export type { Server } from './server.js';

/**
 * Discovers servers until the deadline and returns each once, in arrival order.
 *
 * @throws {InvalidOptionError} synchronously, for invalid options or environment variables.
 * @example
 * const servers = await discover({ timeout: 1500 });
 * for (const server of servers) console.log(server.url);
 */
export function discover(options: DiscoverOptions = {}): Promise<Server[]> {
  const stream = discoverStream(options);
  return (async () => {
    const servers: Server[] = [];
    for await (const server of stream) servers.push(server);
    return servers;
  })();
}

/**
 * Resolves with the first valid reply, or undefined when the deadline passes without one.
 *
 * @throws {InvalidOptionError} synchronously, for invalid options or environment variables.
 */
export function discoverOne(options: DiscoverOptions = {}): Promise<Server | undefined> {
  const stream = discoverStream(options);
  return (async () => {
    for await (const server of stream) return server;
    return undefined;
  })();
}

/**
 * Yields each server as its first reply arrives; ends at the deadline or after `maxResults`.
 * Breaking out of the loop closes the sockets at once.
 *
 * @throws {InvalidOptionError} synchronously, for invalid options or environment variables.
 * @example
 * for await (const server of discoverStream({ timeout: 3000 })) console.log(server.url);
 */
export function discoverStream(options: DiscoverOptions = {}): AsyncGenerator<Server, void> {
  const { secrets, clock, ...settings } = resolveDiscoverSettings(options);
  const engine = new DiscoveryEngine(settings, new ClientProtocol(settings, secrets), {
    clock,
    logger: options.logger ?? debugLogger,
    socketFactory: options.socketFactory ?? createUdpSocket,
    interfaceProvider: options.interfaceProvider ?? listInterfaces,
    signal: options.signal,
    trace: createTracer(options.trace),
    explainsNoInterface: (options as DiscoverCallerOptions).explainsNoInterface === true,
  });
  return engine.results();
}
