/**
 * The discovery views: `discover()` (every server until the deadline, each with every address
 * heard), `discoverOne()` (the first) and `discoverStream()` (each as it is first heard), all
 * over one {@link DiscoveryEngine} run.
 */
import { debugLogger } from '../logger.js';
import { listInterfaces } from '../network/interfaces.js';
import { listIPv6Interfaces } from '../network/interfaces6.js';
import { createUdpSocket } from '../network/socket.js';
import { DiscoveryEngine, type WatchSettings } from './engine.js';
import {
  type DiscoverCallerOptions,
  type DiscoverOptions,
  resolveDiscoverSettings,
} from './options.js';
import { ClientProtocol } from './protocol.js';
import { registrySource } from './registry-source.js';
import type { Server } from './server.js';
import { createTracer } from './trace.js';
import { resolveWatch, Watcher, type WatchOptions } from './watch.js';

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
  const engine = createEngine(options);
  return (async () => {
    for await (const _ of engine.results()) {
      // each server is in the table; its later addresses join it there
    }
    return engine.servers();
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
  return createEngine(options).results();
}

/**
 * A discovery run for these options, not started: `results()` starts it. For callers that want
 * the stream and, at the end, the merged table (`servers()`), as `beckon discover` does.
 *
 * @throws {InvalidOptionError} for invalid options or environment variables.
 */
export function createEngine(
  options: DiscoverOptions = {},
  watchOptions?: WatchOptions,
): DiscoveryEngine {
  const { secrets, clock, ...settings } = resolveDiscoverSettings(options);
  const watch: WatchSettings | undefined =
    watchOptions && resolveWatch(watchOptions, settings.announcePort);
  return new DiscoveryEngine(settings, new ClientProtocol(settings, secrets), {
    clock,
    logger: options.logger ?? debugLogger,
    socketFactory: options.socketFactory ?? createUdpSocket,
    interfaceProvider: options.interfaceProvider ?? listInterfaces,
    interfaceProvider6: options.interfaceProvider6 ?? listIPv6Interfaces,
    signal: options.signal,
    trace: createTracer(options.trace),
    explainsNoInterface: (options as DiscoverCallerOptions).explainsNoInterface === true,
    watch,
    registry:
      settings.registry && registrySource(settings.registry, secrets.authKey, settings.service),
  });
}

/**
 * Watches the servers that are there until closed (docs/presence.md): a discovery first, then
 * announcements, goodbyes, refresh queries and polls keep the view true.
 *
 * @throws {InvalidOptionError} synchronously, for invalid options or environment variables.
 * @example
 * const watcher = watch({ service: 'orders' });
 * watcher.on('up', (server) => console.log('up', server.url));
 * watcher.on('down', (server, reason) => console.log('down', server.url, reason));
 */
export function watch(options: WatchOptions = {}): Watcher {
  const controller = new AbortController();
  // The caller's signal closes the watcher as close() does: no 'error' for it.
  const { signal } = options;
  if (signal?.aborted) controller.abort(signal.reason);
  signal?.addEventListener('abort', () => controller.abort(signal.reason), { once: true });
  const engine = createEngine({ ...options, signal: controller.signal }, options);
  return new Watcher(engine, controller);
}
