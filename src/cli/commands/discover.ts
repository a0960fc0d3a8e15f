import { createEngine } from '../../client/discover.js';
import { type DiscoverCallerOptions, resolveDiscoverSettings } from '../../client/options.js';
import type { TraceEvent } from '../../client/trace.js';
import { listInterfaces } from '../../network/interfaces.js';
import { listIPv6Interfaces } from '../../network/interfaces6.js';
import { defined, parseFlags, withFlagNames } from '../args.js';
import { ASK_FLAGS, askOptions, FLAG_OF } from '../ask-flags.js';
import { formatTable } from '../format.js';
import {
  type CliIo,
  type ProgressLine,
  println,
  progressLine,
  signalExitCode,
  UsageError,
} from '../io.js';
import { checkInterfaceFlags, explainNothingFound } from '../nothing-found.js';
import { withDocsPath } from '../package-files.js';

export const help = `Usage: beckon discover [options]

Ask on every interface (IPv4 broadcast and multicast, IPv6 multicast) and list the servers that
answer, each once with every address it answered from. Broadcast stops at the router: past it,
use --target, --scan or --registry (docs/beyond-one-lan.md).
Exit status: 0 when a server was found, 1 when none was, 2 on a usage error. Ctrl+C (SIGINT) or
SIGTERM stops the search early: what was found so far is printed, and the exit status is 130 / 143.

Options:
  -p, --port N              UDP port of the responders (env DISCOVERY_CLIENT_PORT, else serve's
                            DISCOVERY_PORT; default 9999)
  -t, --timeout DURATION    total deadline: seconds, or with a unit: 500ms, 2s, 1m
                            (env DISCOVERY_CLIENT_TIMEOUT, the same way; default 2)
  -1, --first               stop at the first server found
  --target HOST|IP|CIDR     also ask this host, address (IPv4, or IPv6 such as ::1 or
                            fe80::5%eth0) or small IPv4 network (up to /22) by unicast; repeatable
  -i, --interface NAME|GLOB|CIDR
                            ask only on matching interfaces (repeatable; e.g. eth0, veth*,
                            10.0.0.0/8, fd00::/64); loopback is used only when named; a pattern that
                            matches no interface is an error (env DISCOVERY_CLIENT_INTERFACES_WHITELIST)
  --exclude NAME|GLOB|CIDR  skip matching interfaces (repeatable; env DISCOVERY_CLIENT_INTERFACES_BLACKLIST)
  --scan CIDR|IP|auto       scan a subnet: one unicast request to every address of an IPv4 range
                            of at most a /16 (repeatable; 262,144 addresses in all), nearest
                            /24s first, so that servers behind routers are found; without
                            --timeout the search lasts until every address is probed, plus 1 s.
                            auto: scan this host's subnet (at most a /16) only if broadcast found
                            nothing within 1 s on a segmented network (env
                            DISCOVERY_CLIENT_SUBNET_RANGES, DISCOVERY_CLIENT_ENABLE_SUBNET_SCAN)
  --scan-rate N             scan requests per second, 1 to 10000 (default 1000: a /16 in about
                            70 s); a range on this host's own subnet goes at most 256/s (with
                            Linux's default neighbour table), as auto's does
  --no-broadcast            no broadcast, no multicast: ask only --target, --scan and --registry
  -4, --ipv4                ask over IPv4 only (broadcast, group 239.255.98.107, IPv4 targets)
  -6, --ipv6                ask over IPv6 only (group ff12::6265:636b on each link, IPv6
                            targets); without either flag (or with both), both families in one run
  --retries N               re-sends inside the deadline (env DISCOVERY_CLIENT_RETRIES, default 5)
  --receive-buffer BYTES    socket receive buffer, for bursts of replies from large fleets
                            (default 1048576; the kernel caps it at net.core.rmem_max; 0 = system)
  --message TEXT            request to send (env DISCOVERY_CLIENT_MESSAGE, else DISCOVERY_MESSAGE;
                            default DISCOVER_SERVER)
  --prefix TEXT             expected reply prefix (env DISCOVERY_CLIENT_RESPONSE_PREFIX, else
                            RESPONSE_PREFIX; default SERVER_IP:)
  --accept-foreign          keep replies whose claimed IP differs from their source address
  --verify tcp|http         list a server only once its URL accepts a TCP connection (tcp) or
                            answers an HTTP request, any status (http); checked within 1 s
  --announce-port N         also hear servers' announcements on this UDP port during the search,
                            so one that starts meanwhile is found (default: the port minus 1, 9998)
  --registry URL            also read the servers registered in etcd (docs/registry.md):
                            etcd://host:port[,host:port], etcd://user:password@host:port,
                            etcds://... for TLS, optionally ending in /prefix/ (env
                            DISCOVERY_REGISTRY); its servers show VIA registry, one found both
                            ways is listed once; needs \`npm install etcd3\`; unreachable: a warning
  -j, --json                one JSON object per server per line, printed as each is found
  --url                     print only each server's URL, one per line, as each is found:
                            curl "$(beckon discover -1 --url)"
  -q, --quiet               no progress line and no advice on stderr (warnings and errors stay)
  -v, --verbose             also show the source and raw reply, and debug details on stderr
                            (before a command, beckon -v prints the version)
  --trace                   print on stderr every decision: interfaces used and skipped (and why),
                            each request sent, each reply and what became of it (and each
                            registry record)
  -h, --help                show this help

Security and metadata (see docs/security.md; prefer the environment variables for keys, since
other users of this host can read command lines):
  --encryption              Fernet mode, the original's encrypted mode
                            (env DISCOVERY_CLIENT_ENCRYPTION_ENABLED or DISCOVERY_ENCRYPTION_ENABLED)
  --secret-key KEY          the Fernet key (env DISCOVERY_CLIENT_SECRET_KEY or DISCOVERY_SECRET_KEY)
  --no-replay-protection    in Fernet mode, accept old and repeated reply tokens
  --replay-window DURATION  in Fernet mode, how far a reply's time may be from this host's
                            clock: seconds, or with a unit (default 300); a reply outside it is
                            ignored with a warning naming the server's skew
  --extended                send beckon's extended request and show each server's metadata
                            (only beckon servers answer it)
  --service NAME            only servers of this service (implies --extended)
  --auth-key KEY            sign requests with the shared key and believe only answers signed
                            with it (implies --extended; env DISCOVERY_CLIENT_AUTH_KEY, else
                            the first of DISCOVERY_AUTH_KEYS)
Servers that these filters leave out stay silent; "No servers found" lists the filters in use.`;

/** `beckon discover`. Resolves with the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const values = parseFlags(args, {
    ...ASK_FLAGS,
    first: { type: 'boolean', short: '1' },
    url: { type: 'boolean' },
  });
  if (values.help) {
    println(io.stdout, withDocsPath(help));
    return 0;
  }
  if (values.json && values.url) {
    throw new UsageError('--json and --url print different things: choose one.');
  }
  const options: DiscoverCallerOptions = {
    ...askOptions(values, io),
    ...defined({
      // "No servers found" explains a run without a usable interface (explainNoInterface).
      explainsNoInterface: !values.json && !values.quiet,
      maxResults: values.first ? 1 : undefined,
    }),
  };
  const settings = withFlagNames(values, { ...FLAG_OF, maxResults: 'first' }, () =>
    resolveDiscoverSettings(options),
  );
  const { timeout, port, mode } = settings;
  if (values.interface) checkInterfaceFlags(settings, listInterfaces(), listIPv6Interfaces());

  // Ctrl+C or SIGTERM ends the search early but keeps what it found (exit 130 / 143).
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const removeSignal = io.onSignal((signal) => {
    interrupted ??= signal;
    controller.abort(new Error(`Interrupted (${signal})`));
  });
  const { scan, timeoutGiven } = settings;
  const until =
    scan === undefined || timeoutGiven
      ? `up to ${timeout / 1000} s`
      : scan === 'auto'
        ? `up to ${timeout / 1000} s, longer if it scans`
        : 'until the scan is done';
  const progress =
    values.json || values.url || values.trace || values.quiet
      ? undefined
      : progressLine(
          io,
          `Searching for servers on UDP port ${port}${settings.registry ? ` and in ${settings.registry.display}` : ''} (${until})...`,
        );
  const endProgress = () => progress?.end();
  const scanTrace = progress && scan !== undefined ? scanProgress(progress) : undefined;
  const engine = createEngine({
    ...options,
    signal: controller.signal,
    ...(scanTrace ? { trace: scanTrace } : {}),
  });
  try {
    for await (const server of engine.results()) {
      if (values.json) println(io.stdout, JSON.stringify(server));
      if (values.url) println(io.stdout, server.url);
    }
  } catch (error) {
    if (interrupted === undefined || error !== controller.signal.reason) throw error;
  } finally {
    removeSignal();
    endProgress();
  }
  // Each server once, with every address heard until the end (the stream had the first).
  const servers = engine.servers();
  if (interrupted) {
    const found = `${servers.length} server${servers.length === 1 ? '' : 's'} found`;
    println(io.stderr, `Interrupted by ${interrupted}: ${found} so far.`);
  }
  if (servers.length === 0) {
    if (interrupted) return signalExitCode(interrupted);
    if (!values.json && !values.quiet) {
      const authKeySource =
        values['auth-key'] === undefined ? 'the auth key from the environment' : '--auth-key';
      println(io.stderr, explainNothingFound(settings, listInterfaces(), authKeySource));
    }
    return 1;
  }
  if (!values.json && !values.url) {
    const headers = ['IP', 'PORT', 'URL', 'INTERFACE', 'RTT', 'VIA'];
    const multiHomed = servers.some((s) => s.addresses.length > 1);
    if (multiHomed) headers.push('ALSO AT');
    if (mode === 'extended') headers.push('SERVICE', 'NAME', 'VERSION');
    if (values.verbose) headers.push('SOURCE', 'RAW');
    const rows = servers.map((s) => {
      const row = [
        s.ip,
        String(s.port),
        s.url,
        s.interface ?? '-',
        `${s.rttMs.toFixed(1)} ms`,
        s.via,
      ];
      if (multiHomed) {
        const others = s.addresses.slice(1).map((a) => a.address);
        row.push(others.join(' ') || '-');
      }
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
  return interrupted ? signalExitCode(interrupted) : 0;
}

/** The scan's progress line, from the run's trace: rewritten at each `scan-progress`. */
function scanProgress(progress: ProgressLine): (event: TraceEvent) => void {
  const number = (n: number) => n.toLocaleString('en-US');
  let ranges = '';
  return (event) => {
    if (event.type === 'scan-start') {
      const [first = '', ...more] = event.ranges;
      ranges = more.length > 0 ? `${first} and ${more.length} more` : first;
      const seconds = Math.ceil(event.addresses / event.rate);
      progress.note(
        `Scanning ${ranges}: ${number(event.addresses)} addresses at ${number(event.rate)}/s, about ${number(seconds)} s...`,
      );
    } else if (event.type === 'scan-progress') {
      const left = Math.ceil(event.leftMs / 1000);
      progress.update(
        `Scanning ${ranges}: ${number(event.probed)} of ${number(event.total)} probed, ${number(event.found)} found, ${number(left)} s left`,
      );
    } else if (event.type === 'scan-done' && event.complete) {
      progress.update(
        `Scanned ${ranges}: ${number(event.probed)} probed, ${number(event.found)} found; waiting for the last replies...`,
      );
    }
  };
}
