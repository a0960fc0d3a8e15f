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
 * A free port, an empty environment, and no group joins: a join makes the kernel send IGMP/MLD
 * reports out of the host's real interfaces, and loopback tests send nothing beyond loopback.
 */
const LOOPBACK_ONLY = { port: 0, env: {}, joinGroups: false } as const;

/**
 * Registers an `afterEach` that stops every responder started through the returned function,
 * which starts one with {@link LOOPBACK_ONLY} (plus `defaults` and `options`).
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
    const responder = createResponder({ ...LOOPBACK_ONLY, ...defaults, ...options });
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
  const responder = createResponder({ ...LOOPBACK_ONLY, rateLimit: 0, logger, ...options });
  const events: BeckonError[] = [];
  responder.on('warning', (warning) => events.push(warning));
  await responder.start();
  return { responder, port: responder.port ?? 0, events, warnings: logger.warnings };
}
