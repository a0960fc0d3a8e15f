/** Options of the integrations, and their validation. */
import { InvalidOptionError } from '../errors.js';
import { checkInteger, MAX_DELAY_MS } from '../options.js';
import { type ResponderOptions, resolveResponderSettings } from '../responder/options.js';

/** Options of `attachDiscovery`: the responder's, plus when to run at all. */
export interface AttachOptions extends ResponderOptions {
  /**
   * `true` starts discovery even in a test run, `false` never starts it. Left out, discovery
   * starts unless the process looks like a test run (`NODE_ENV=test`, Jest, Vitest, `node --test`),
   * like the original, which stayed off under `manage.py test` and pytest.
   */
  enabled?: boolean;
  /**
   * When the UDP port is taken (typically by another process of the same app: a cluster worker,
   * a PM2 instance), stand by and try again this often, taking over when the port frees.
   * 0 gives up at once. @default 5000
   */
  standbyRetryMs?: number;
}

const DEFAULT_STANDBY_RETRY_MS = 5000;

/**
 * Validates attach options now rather than when the server listens.
 *
 * @throws {InvalidOptionError} naming the option, the value and what is allowed.
 */
export function checkAttachOptions(options: AttachOptions): {
  enabled: boolean | undefined;
  standbyRetryMs: number;
  responderOptions: ResponderOptions;
} {
  const { enabled, standbyRetryMs, ...responderOptions } = options;
  resolveResponderSettings(responderOptions);
  if (enabled !== undefined && typeof enabled !== 'boolean') {
    throw new InvalidOptionError('enabled', enabled, 'true, false, or left out for automatic');
  }
  return {
    enabled,
    standbyRetryMs: checkInteger(
      'standbyRetryMs',
      standbyRetryMs ?? DEFAULT_STANDBY_RETRY_MS,
      0,
      MAX_DELAY_MS,
    ),
    responderOptions,
  };
}
