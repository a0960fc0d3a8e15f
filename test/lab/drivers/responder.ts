/**
 * For the group lab tests: a library responder with the options in argv[2] (JSON), printing
 * `ready <port>` once it listens, then one JSON line per `reply` and `warning` (and per `drop`
 * with the driver's own option `drops: true`), and its debug lines as `debug <text>` (joins and
 * leaves). Stops on SIGTERM.
 */
import { createResponder } from '../../../src/index.js';

const { drops, ...options } = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const responder = createResponder({
  env: {},
  rateLimit: 0,
  ...options,
  logger: {
    debug: (message) => process.stdout.write(`debug ${message}\n`),
    info: () => {},
    warn: () => {},
    error: () => {},
  },
});
responder.on('reply', (reply) => line({ reply: { to: reply.to, address: reply.address } }));
if (drops === true) {
  responder.on('drop', (drop) => line({ drop: { from: drop.from, reason: drop.reason } }));
}
responder.on('warning', (warning) =>
  line({ warning: { code: warning.code, text: warning.message } }),
);
await responder.start();
process.stdout.write(`ready ${responder.port}\n`);
process.once('SIGTERM', () => void responder.stop());
