import { parseArgs } from 'node:util';
import { discoverStream, type Server } from '../../client/discover.js';
import { resolveDiscoverSettings } from '../../client/options.js';
import type { TraceEvent } from '../../client/trace.js';
import { detectSegmentedNetwork, type SegmentedNetwork } from '../../diagnostics/segmented.js';
import type { Logger } from '../../logger.js';
import { listInterfaces } from '../../network/interfaces.js';
import { selectInterfaces } from '../../network/select.js';
import { describeSkew } from '../../security/clock-skew.js';
import { defined, intFlag, secondsFlag } from '../args.js';
import { formatTable } from '../format.js';
import { type CliIo, println } from '../io.js';

export const help = `Usage: beckon discover [options]

Broadcast a discovery request on every interface and list the servers that answer.
Exit status: 0 when a server was found, 1 when none was, 2 on a usage error.

Options:
  --port N                  UDP port of the responders (env DISCOVERY_CLIENT_PORT, default 9999)
  --timeout SECONDS         total deadline (env DISCOVERY_CLIENT_TIMEOUT, default 2)
  --first                   stop at the first server found
  --target HOST|IP|CIDR     also ask this host or small network (up to /22) by unicast; repeatable
  --interface NAME|GLOB|CIDR  broadcast only on matching interfaces (repeatable; e.g. eth0, veth*,
                            10.0.0.0/8); loopback is used only when named
                            (env DISCOVERY_CLIENT_INTERFACES_WHITELIST)
  --exclude NAME|GLOB|CIDR  skip matching interfaces (repeatable; env DISCOVERY_CLIENT_INTERFACES_BLACKLIST)
  --no-broadcast            send to --target addresses only
  --retries N               re-sends inside the deadline (env DISCOVERY_CLIENT_RETRIES, default 5)
  --receive-buffer BYTES    socket receive buffer, for bursts of replies from large fleets
                            (default 1048576; the kernel caps it at net.core.rmem_max; 0 = system)
  --message TEXT            request to send (env DISCOVERY_CLIENT_MESSAGE, default DISCOVER_SERVER)
  --prefix TEXT             expected reply prefix (env DISCOVERY_CLIENT_RESPONSE_PREFIX, default SERVER_IP:)
  --accept-foreign          keep replies whose claimed IP differs from their source address
  --json                    one JSON object per server per line, printed as each is found
  --verbose                 also show the source and raw reply, and debug details on stderr
  --trace                   print on stderr every decision: interfaces used and skipped (and why),
                            each request sent, each reply and what became of it
  -h, --help                show this help

Security and metadata (see docs/security.md; prefer the environment variables for keys, since
other users of this host can read command lines):
  --encryption              Fernet mode, the original's encrypted mode
                            (env DISCOVERY_CLIENT_ENCRYPTION_ENABLED or DISCOVERY_ENCRYPTION_ENABLED)
  --secret-key KEY          the Fernet key (env DISCOVERY_CLIENT_SECRET_KEY or DISCOVERY_SECRET_KEY)
  --no-replay-protection    in Fernet mode, accept old and repeated reply tokens
  --extended                send beckon's extended request and show each server's metadata
                            (only beckon servers answer it)
  --service NAME            only servers of this service (implies --extended)
  --auth-key KEY            sign requests with the shared key and believe only answers signed
                            with it (implies --extended; env DISCOVERY_CLIENT_AUTH_KEY)`;

/** `beckon discover`. Resolves with the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      port: { type: 'string' },
      timeout: { type: 'string' },
      first: { type: 'boolean' },
      target: { type: 'string', multiple: true },
      interface: { type: 'string', multiple: true },
      exclude: { type: 'string', multiple: true },
      'no-broadcast': { type: 'boolean' },
      retries: { type: 'string' },
      'receive-buffer': { type: 'string' },
      message: { type: 'string' },
      prefix: { type: 'string' },
      'accept-foreign': { type: 'boolean' },
      encryption: { type: 'boolean' },
      'secret-key': { type: 'string' },
      'no-replay-protection': { type: 'boolean' },
      extended: { type: 'boolean' },
      service: { type: 'string' },
      'auth-key': { type: 'string' },
      json: { type: 'boolean' },
      verbose: { type: 'boolean' },
      trace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    println(io.stdout, help);
    return 0;
  }
  const logger: Logger = {
    debug: (message) => values.verbose && println(io.stderr, `debug: ${message}`),
    info: (message) => values.verbose && println(io.stderr, message),
    warn: (message) => println(io.stderr, `warning: ${message}`),
    error: (message) => println(io.stderr, `error: ${message}`),
  };
  const options = {
    env: io.env,
    logger,
    ...defined({
      port: intFlag('port', values.port, 1, 65535),
      timeout: secondsFlag('timeout', values.timeout),
      retries: intFlag('retries', values.retries, 0, 100),
      receiveBufferSize: intFlag('receive-buffer', values['receive-buffer'], 0, 1 << 30),
      targets: values.target,
      interfaces: values.interface,
      exclude: values.exclude,
      message: values.message,
      prefix: values.prefix,
      broadcast: values['no-broadcast'] ? false : undefined,
      acceptForeignAddresses: values['accept-foreign'],
      maxResults: values.first ? 1 : undefined,
      encryption: values.encryption,
      secretKey: values['secret-key'],
      replayProtection: values['no-replay-protection'] ? false : undefined,
      extended: values.extended,
      service: values.service,
      authKey: values['auth-key'],
      trace: values.trace
        ? (event: TraceEvent) => println(io.stderr, formatTraceEvent(event))
        : undefined,
    }),
  };
  const { timeout, port, mode, include, exclude } = resolveDiscoverSettings(options);

  const controller = new AbortController();
  const removeSignal = io.onSignal((signal) =>
    controller.abort(new Error(`Interrupted (${signal})`)),
  );
  const progress = !values.json && !values.trace && io.stderr.isTTY === true;
  if (progress)
    io.stderr.write(`Searching for servers on UDP port ${port} (up to ${timeout / 1000} s)...`);
  const servers: Server[] = [];
  try {
    for await (const server of discoverStream({ ...options, signal: controller.signal })) {
      servers.push(server);
      if (values.json) println(io.stdout, JSON.stringify(server));
    }
  } finally {
    removeSignal();
    if (progress) io.stderr.write('\r\x1b[K');
  }

  if (servers.length === 0) {
    if (!values.json) {
      println(io.stderr, 'No servers found.');
      println(
        io.stderr,
        'Check that a responder runs on the same network and UDP port, that no firewall drops',
      );
      println(
        io.stderr,
        'the port, and, across routers or VLANs, ask the server directly with --target <ip|cidr>.',
      );
      const { selected } = selectInterfaces(listInterfaces(), include, exclude);
      const segmented = detectSegmentedNetwork(selected, { port });
      if (segmented.length > 0) println(io.stderr, `\n${explainSegmented(segmented)}`);
      println(io.stderr, 'Run "beckon doctor" for a full diagnosis.');
    }
    return 1;
  }
  if (!values.json) {
    const headers = ['IP', 'PORT', 'URL', 'INTERFACE', 'RTT'];
    if (mode === 'extended') headers.push('SERVICE', 'NAME', 'VERSION');
    if (values.verbose) headers.push('SOURCE', 'RAW');
    const rows = servers.map((s) => {
      const row = [s.ip, String(s.port), s.url, s.interface ?? '-', `${s.rttMs.toFixed(1)} ms`];
      if (mode === 'extended') {
        const m = s.metadata;
        row.push(m?.service ?? '-', m?.name ?? '-', m?.version ?? '-');
      }
      if (values.verbose)
        row.push(s.foreign ? `${s.source} (foreign)` : s.source, JSON.stringify(s.raw));
      return row;
    });
    println(io.stdout, `Found ${servers.length} server${servers.length === 1 ? '' : 's'}:`);
    println(io.stdout, formatTable(headers, rows));
  }
  return 0;
}

/** The segmented-network explanation, printed once when nothing was found. */
export function explainSegmented(findings: readonly SegmentedNetwork[]): string {
  const lines = ['Segmented network: broadcasts probably reach only part of your subnet.'];
  for (const s of findings) {
    lines.push(
      `  ${s.interface} (${s.address}) is on ${s.network}: ${s.addresses} addresses, usually cut into`,
      `  ${s.segments} /24 segments by the network. A broadcast reaches only this host's own segment,`,
      `  ${s.likelyBroadcastDomain}; servers in the others cannot hear it.`,
    );
  }
  const [first] = findings;
  if (first) {
    lines.push(
      'Ask a server in another segment directly, giving its segment or its address:',
      `  ${first.fix}    (the server's segment, ${first.segmentRange})`,
      '  beckon discover --target <server-ip>',
    );
  }
  return lines.join('\n');
}

/** One trace event as a line for people. */
export function formatTraceEvent(event: TraceEvent): string {
  const at = `trace +${event.atMs.toFixed(1)}ms`;
  switch (event.type) {
    case 'interface':
      return event.skipped
        ? `${at} skip ${event.interface} ${event.address} (${event.class}): ${event.skipped}`
        : `${at} use ${event.interface} ${event.address} (${event.class}): broadcast ${event.broadcast}`;
    case 'unresolved':
      return `${at} target ${event.target} did not resolve: ${event.error}`;
    case 'send':
      return `${at} send ${event.channel} ${event.from} -> ${event.to}:${event.port} ${event.bytes} bytes, round ${event.round}${event.error ? `: FAILED ${event.error}` : ''}`;
    case 'reply':
      return `${at} reply ${event.channel} <- ${event.from}:${event.fromPort} ${event.bytes} bytes: ${event.outcome}${event.claims ? ` (claims ${event.claims})` : ''}`;
    case 'clock-skew':
      return `${at} clock-skew ${event.channel} <- ${event.from}:${event.fromPort}: the server's clock is ${describeSkew(event.skewMs)} this host's (window ${event.windowMs / 1000} s)`;
    case 'socket-error':
      return `${at} socket ${event.channel} failed: ${event.error}`;
    case 'end':
      return `${at} end: ${event.reason}, ${event.found} found`;
  }
}
