/**
 * The flags `beckon discover` and `beckon watch` share: where and how to ask, the filters, the
 * keys, and the output switches; and the library options they stand for.
 */
import type { DiscoverCallerOptions } from '../client/options.js';
import type { TraceEvent } from '../client/trace.js';
import { describeSkew } from '../security/clock-skew.js';
import { defined, durationFlag, intFlag } from './args.js';
import { type CliIo, cliLogger, println } from './io.js';

/** The parseArgs spec of the shared flags. */
export const ASK_FLAGS = {
  port: { type: 'string', short: 'p' },
  timeout: { type: 'string', short: 't' },
  target: { type: 'string', multiple: true },
  scan: { type: 'string', multiple: true },
  'scan-rate': { type: 'string' },
  interface: { type: 'string', multiple: true, short: 'i' },
  exclude: { type: 'string', multiple: true },
  'no-broadcast': { type: 'boolean' },
  ipv4: { type: 'boolean', short: '4' },
  ipv6: { type: 'boolean', short: '6' },
  retries: { type: 'string' },
  'receive-buffer': { type: 'string' },
  message: { type: 'string' },
  prefix: { type: 'string' },
  'accept-foreign': { type: 'boolean' },
  encryption: { type: 'boolean' },
  'secret-key': { type: 'string' },
  'no-replay-protection': { type: 'boolean' },
  'replay-window': { type: 'string' },
  extended: { type: 'boolean' },
  service: { type: 'string' },
  'auth-key': { type: 'string' },
  verify: { type: 'string' },
  'announce-port': { type: 'string' },
  json: { type: 'boolean', short: 'j' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  trace: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What parseFlags gives for {@link ASK_FLAGS}. */
export interface AskValues {
  port?: string | undefined;
  timeout?: string | undefined;
  target?: string[] | undefined;
  scan?: string[] | undefined;
  'scan-rate'?: string | undefined;
  interface?: string[] | undefined;
  exclude?: string[] | undefined;
  'no-broadcast'?: boolean | undefined;
  ipv4?: boolean | undefined;
  ipv6?: boolean | undefined;
  retries?: string | undefined;
  'receive-buffer'?: string | undefined;
  message?: string | undefined;
  prefix?: string | undefined;
  'accept-foreign'?: boolean | undefined;
  encryption?: boolean | undefined;
  'secret-key'?: string | undefined;
  'no-replay-protection'?: boolean | undefined;
  'replay-window'?: string | undefined;
  extended?: boolean | undefined;
  service?: string | undefined;
  'auth-key'?: string | undefined;
  verify?: string | undefined;
  'announce-port'?: string | undefined;
  verbose?: boolean | undefined;
  trace?: boolean | undefined;
}

/** The flag of each library option that a flag sets, for errors about it. */
export const FLAG_OF: Readonly<Record<string, string>> = {
  port: 'port',
  timeout: 'timeout',
  retries: 'retries',
  receiveBufferSize: 'receive-buffer',
  targets: 'target',
  scan: 'scan',
  scanRate: 'scan-rate',
  interfaces: 'interface',
  exclude: 'exclude',
  message: 'message',
  prefix: 'prefix',
  broadcast: 'no-broadcast',
  family: 'ipv6',
  acceptForeignAddresses: 'accept-foreign',
  encryption: 'encryption',
  secretKey: 'secret-key',
  replayProtection: 'no-replay-protection',
  replayWindow: 'replay-window',
  extended: 'extended',
  service: 'service',
  authKey: 'auth-key',
  verify: 'verify',
  announcePort: 'announce-port',
};

/** The library options the shared flags stand for. @throws UsageError for a malformed number */
export function askOptions(values: AskValues, io: CliIo): DiscoverCallerOptions {
  return {
    env: io.env,
    logger: cliLogger(io.stderr, values.verbose),
    ...defined({
      timeoutAsGiven: values.timeout === undefined ? undefined : `--timeout ${values.timeout}`,
      port: intFlag('port', values.port, 1, 65535),
      timeout: durationFlag('timeout', values.timeout),
      retries: intFlag('retries', values.retries, 0, 100),
      receiveBufferSize: intFlag('receive-buffer', values['receive-buffer'], 0, 1 << 30),
      targets: values.target,
      scan: scanFlag(values.scan),
      scanRate: intFlag('scan-rate', values['scan-rate'], 1, 10_000),
      interfaces: values.interface,
      exclude: values.exclude,
      message: values.message,
      prefix: values.prefix,
      broadcast: values['no-broadcast'] ? false : undefined,
      // One flag keeps the run to its family; both, like neither, mean both (as for serve).
      family: values.ipv4 === values.ipv6 ? undefined : values.ipv4 ? 'IPv4' : 'IPv6',
      acceptForeignAddresses: values['accept-foreign'],
      encryption: values.encryption,
      secretKey: values['secret-key'],
      replayProtection: values['no-replay-protection'] ? false : undefined,
      replayWindow: durationFlag('replay-window', values['replay-window']),
      extended: values.extended,
      service: values.service,
      authKey: values['auth-key'],
      verify: values.verify as DiscoverCallerOptions['verify'],
      announcePort: intFlag('announce-port', values['announce-port'], 1, 65535),
      trace: values.trace
        ? (event: TraceEvent) => println(io.stderr, formatTraceEvent(event))
        : undefined,
    }),
  };
}

/** `--scan` (repeatable, or comma-separated): `auto` alone, or the ranges. */
function scanFlag(values: readonly string[] | undefined): string | string[] | undefined {
  if (values === undefined) return undefined;
  const items = values.flatMap((value) => value.split(',')).map((item) => item.trim());
  return items.length === 1 && items[0] === 'auto' ? 'auto' : items;
}

/** One trace event as a line for people. */
export function formatTraceEvent(event: TraceEvent): string {
  const at = `trace +${event.atMs.toFixed(1)}ms`;
  switch (event.type) {
    case 'interface':
      return event.skipped
        ? `${at} skip ${event.interface} ${event.address} (${event.class}): ${event.skipped}`
        : `${at} use ${event.interface} ${event.address} (${event.class}): broadcast ${event.broadcast}`;
    case 'link':
      return event.skipped
        ? `${at} skip ${event.interface} IPv6 [${event.addresses.join(' ')}]: ${event.skipped}`
        : `${at} use ${event.interface} IPv6 [${event.addresses.join(' ')}]: group ${event.group}`;
    case 'unmatched-pattern':
      return `${at} ${event.option === 'interfaces' ? 'include' : 'exclude'} pattern "${event.pattern}" matches no interface`;
    case 'unresolved':
      return `${at} target ${event.target} did not resolve: ${event.error}`;
    case 'send':
      return `${at} send ${event.channel} ${event.family} ${event.from} -> ${event.to}:${event.port} ${event.bytes} bytes, round ${event.round}${event.error ? `: FAILED ${event.error}` : ''}`;
    case 'reply':
      return `${at} reply ${event.channel} <- ${event.from}:${event.fromPort} ${event.bytes} bytes: ${event.outcome}${event.claims ? ` (claims ${event.claims})` : ''}`;
    case 'clock-skew':
      return `${at} clock-skew ${event.channel} <- ${event.from}:${event.fromPort}: the server's clock is ${describeSkew(event.skewMs)} this host's (window ${event.windowMs / 1000} s)`;
    case 'socket-error':
      return `${at} socket ${event.channel} failed: ${event.error}`;
    case 'scan-start':
      return `${at} scan ${event.ranges.join(' ')}${event.auto ? ` (auto: ${event.interfaces.join(', ')} segmented)` : ''}: ${event.addresses} addresses at ${event.rate}/s`;
    case 'scan-skipped':
      return `${at} scan skipped: ${event.detail}`;
    case 'scan-progress':
      return `${at} scan ${event.probed} of ${event.total} probed, ${event.found} found, ${Math.ceil(event.leftMs / 1000)} s left`;
    case 'scan-done':
      return `${at} scan ${event.complete ? 'done' : 'stopped'}: ${event.probed} of ${event.total} probed in ${(event.ms / 1000).toFixed(1)} s, ${event.failed} failed, ${event.found} found`;
    case 'end':
      return `${at} end: ${event.reason}, ${event.found} found`;
  }
}
