/**
 * A Fastify plugin: `app.register(beckon, options)` makes the app discoverable while it
 * listens, logging through the app's logger, and stops discovery in the preClose hook.
 */
import type { FastifyInstance } from 'fastify';
import { type AttachOptions, attachDiscovery, type DiscoveryHandle } from './http.js';
import { adaptLogger } from './logger-adapter.js';

/** Options of the plugin: those of {@link attachDiscovery}. */
export type BeckonFastifyOptions = AttachOptions;

declare module 'fastify' {
  interface FastifyInstance {
    /** Discovery attached by the beckon plugin. */
    beckon: DiscoveryHandle;
  }
}

/**
 * The plugin. Not encapsulated (like plugins wrapped with fastify-plugin), so `app.beckon`
 * is visible everywhere.
 *
 * @example
 * const app = Fastify({ logger: true });
 * await app.register(beckon, { port: 9999 });
 * await app.listen({ port: 0, host: '0.0.0.0' });
 */
function beckon(
  app: FastifyInstance,
  options: BeckonFastifyOptions,
  done: (error?: Error) => void,
) {
  if (app.hasDecorator('beckon')) {
    done(new Error('The beckon plugin is already registered on this Fastify instance'));
    return;
  }
  let handle: DiscoveryHandle;
  try {
    handle = attachDiscovery(app.server, { logger: adaptLogger(app.log), ...options });
  } catch (error) {
    done(error as Error);
    return;
  }
  app.decorate('beckon', handle);
  // preClose runs before the server stops accepting: no reply points at a closing app.
  app.addHook('preClose', async () => {
    await handle.stop();
  });
  done();
}

Object.assign(beckon, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'beckon',
});

export default beckon;
export { beckon };
