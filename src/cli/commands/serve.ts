import { parseArgs } from 'node:util';
import type { Logger } from '../../logger.js';
import { createResponder } from '../../responder/responder.js';
import { defined, intFlag, rateFlag, secondsFlag } from '../args.js';
import { formatDuration } from '../format.js';
import { type CliIo, println } from '../io.js';

export const serveHelp = `Usage: beckon serve [options]

Answer discovery requests until Ctrl+C, SIGTERM or the --duration ends.

Options:
  --port N                 UDP port to listen on (env DISCOVERY_PORT, default 9999)
  --http-port N            HTTP port to advertise (SERVER_IP:<ip>:<port>); without it replies carry
                           no port and clients assume 8000, as with the original server
  --advertise-address IP   advertise this address instead of the one in each requester's subnet
  --bind-address IP        local address to bind (default 0.0.0.0; only 0.0.0.0 receives broadcasts)
  --message TEXT           request to answer (env DISCOVERY_MESSAGE, default DISCOVER_SERVER)
  --prefix TEXT            reply prefix (env RESPONSE_PREFIX, default SERVER_IP:)
  --allow CIDR             also answer senders in CIDR (repeatable); loopback and private
                           on-link senders are always answered
  --rate-limit N           replies per second per source, 0 = no limit (default 20)
  --duration SECONDS       stop after this long
  --quiet                  print only errors
  -h, --help               show this help`;

/** `beckon serve`: a standalone responder. Resolves with the exit code. */
export async function serve(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string' },
      'http-port': { type: 'string' },
      'advertise-address': { type: 'string' },
      'bind-address': { type: 'string' },
      message: { type: 'string' },
      prefix: { type: 'string' },
      allow: { type: 'string', multiple: true },
      'rate-limit': { type: 'string' },
      duration: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    println(io.stdout, serveHelp);
    return 0;
  }
  const durationMs = secondsFlag('duration', values.duration);
  const out = (line = '') => {
    if (!values.quiet) println(io.stdout, line);
  };
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (message) => println(io.stderr, `warning: ${message}`),
    error: (message) => println(io.stderr, `error: ${message}`),
  };
  const responder = createResponder({
    env: io.env,
    logger,
    ...defined({
      port: intFlag('port', values.port, 0, 65535),
      httpPort: intFlag('http-port', values['http-port'], 1, 65535),
      advertiseAddress: values['advertise-address'],
      bindAddress: values['bind-address'],
      message: values.message,
      prefix: values.prefix,
      allow: values.allow,
      rateLimit: rateFlag('rate-limit', values['rate-limit']),
    }),
  });
  const s = responder.settings;
  out('beckon discovery responder');
  out('Configuration:');
  out(`  UDP port:           ${s.port === 0 ? 'any free port' : s.port}`);
  out(
    `  HTTP port:          ${s.httpPort ?? 'not set (replies carry no port; clients assume 8000)'}`,
  );
  out(`  Discovery message:  ${s.message}`);
  out(`  Response prefix:    ${s.prefix}`);
  out(`  Buffer size:        ${s.bufferSize} bytes`);
  out(`  Advertised address: ${s.advertiseAddress ?? "the requester's subnet address"}`);
  out(`  Allowed senders:    loopback, private on-link${s.allow.map((c) => `, ${c}`).join('')}`);
  out(`  Rate limit:         ${s.rateLimit === 0 ? 'off' : `${s.rateLimit} replies/s per source`}`);
  out(`  Logging:            ${s.logging ? 'on' : 'off'}`);
  out();

  await responder.start();
  if (s.logging) {
    responder.on('reply', (r) => out(`Replied to ${r.to}:${r.toPort} with ${r.reply}`));
  }
  out(`[OK] Listening on ${s.bindAddress}:${responder.port}`);
  out(`Try it: beckon discover --port ${responder.port}`);
  if (durationMs !== undefined) {
    out(
      `Stopping automatically in ${formatDuration(durationMs / 1000)}. Press Ctrl+C to stop early.`,
    );
  } else {
    out('Press Ctrl+C to stop.');
  }

  const reason = await new Promise<string>((resolve) => {
    const timer =
      durationMs === undefined
        ? undefined
        : setTimeout(
            () => resolve(`Duration over (${formatDuration(durationMs / 1000)}).`),
            durationMs,
          );
    const removeSignal = io.onSignal((signal) => {
      clearTimeout(timer);
      removeSignal();
      resolve(`Interrupted (${signal}).`);
    });
    responder.once('close', () => {
      clearTimeout(timer);
      removeSignal();
      resolve('Responder closed.');
    });
  });
  out(`${reason} Stopping...`);
  await responder.stop();
  out('Stopped.');
  return 0;
}
