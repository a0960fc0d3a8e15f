/** Responders for loopback tests, each stopped after its test, pass or fail. */
import { afterEach } from 'node:test';
import { createResponder, type Responder, type ResponderOptions } from '../../src/index.js';

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
