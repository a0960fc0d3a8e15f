/** Responders for loopback tests: tracked (stopped after each test) or recording what they log. */
import { afterEach } from 'node:test';
import {
  type BeckonError,
  createResponder,
  type Responder,
  type ResponderOptions,
} from '../../src/index.js';
import { recordingLogger } from './logger.js';

/**
 * Registers an `afterEach` that stops every responder started through the returned function,
 * which starts one on a free port with an empty environment (plus `defaults` and `options`).
 * Call it once at the top level of a test file.
 */
export function trackResponders(
  defaults: ResponderOptions = {},
): (options?: ResponderOptions) => Promise<Responder & { port: number }> {
  const running: Responder[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((responder) => responder.stop()));
  });
  return async (options = {}) => {
    const responder = createResponder({ port: 0, env: {}, ...defaults, ...options });
    running.push(responder);
    await responder.start();
    return responder as Responder & { port: number };
  };
}

/**
 * Starts a responder on a free port with an empty environment (plus `options`), recording the
 * warnings it logs and the `warning` events it emits. The caller stops it.
 */
export async function startRecorded(options: ResponderOptions) {
  const logger = recordingLogger();
  const responder = createResponder({ port: 0, env: {}, rateLimit: 0, logger, ...options });
  const events: BeckonError[] = [];
  responder.on('warning', (warning) => events.push(warning));
  await responder.start();
  return { responder, port: responder.port ?? 0, events, warnings: logger.warnings };
}
