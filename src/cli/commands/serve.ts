import { portHeldMessage } from '../../diagnostics/port-owner.js';
import { BindError } from '../../errors.js';
import { listInterfaces } from '../../network/interfaces.js';
import { IPV4_GROUP, IPV6_GROUP } from '../../network/multicast.js';
import { DEFAULT_MESSAGE, DEFAULT_PREFIX } from '../../protocol/plain.js';
import {
  OFF_LINK_BURST,
  OFF_LINK_RATE_PER_SOURCE,
  OFF_LINK_RATE_TOTAL,
  type ResponderOptions,
  type ResponderSettings,
} from '../../responder/options.js';
import { createResponder } from '../../responder/responder.js';
import { describeSkew } from '../../security/clock-skew.js';
import {
  defined,
  durationFlag,
  intFlag,
  jitterFlag,
  metaFlag,
  parseFlags,
  rateFlag,
  withFlagNames,
} from '../args.js';
import { formatDuration } from '../format.js';
import { type CliIo, cliLogger, println } from '../io.js';
import { withDocsPath } from '../package-files.js';

export const help = `Usage: beckon serve [options]

Answer discovery requests until Ctrl+C, SIGTERM or the --duration ends. Refused requests (wrong
key, other service, stale or replayed) are summarised on stderr at most once a minute, by reason.

Options:
  -p, --port N             UDP port to listen on (env DISCOVERY_PORT, default 9999)
  --http-port N            HTTP port to advertise (SERVER_IP:<ip>:<port>); without it replies carry
                           no port and clients assume 8000, as with the original server
  --advertise-address IP   advertise this IPv4 address to IPv4 requesters instead of the one in
                           each requester's subnet (IPv6 requesters get this host's IPv6 address)
  --bind-address IP        local address to bind (default 0.0.0.0; only 0.0.0.0 receives broadcasts
                           and the IPv4 group: a unicast address gets a warning)
  -4, --ipv4               answer on IPv4 only (broadcast, group 239.255.98.107, unicast)
  -6, --ipv6               answer on IPv6 only: extended requests to [::] or to the group
                           ff12::6265:636b on each link (default, or both flags: both families)
  --no-groups              join no multicast group: answer broadcast and unicast requests only
                           (over IPv6, unicast only: clients must use --target); announce on
                           loopback only (env DISCOVERY_JOIN_GROUPS=false)
  --no-announce            send nothing unasked: no announcements, no goodbye (watchers poll it)
  --lease DURATION         how long watchers may believe this server without hearing from it
                           (seconds, or with a unit; 1s to 1d; default 15s); a crashed server goes
                           down at watchers about this long after it was last heard
  --announce-port N        UDP port announcements go to (default: the port minus 1, 9998)
  --no-share               do not share the UDP port with this host's other beckon services: fail
                           if it is taken (by default the first beckon process on the host answers
                           for all of them, and a later one registers its service with it; run it
                           as a sidecar beside any app: --service billing --http-port 8090)
  --message TEXT           request to answer, 1 to 512 bytes (env DISCOVERY_MESSAGE, default
                           DISCOVER_SERVER); one shorter than a third of the reply draws a warning
  --prefix TEXT            reply prefix (env RESPONSE_PREFIX, default SERVER_IP:)
  --allow CIDR             also answer senders in CIDR, IPv4 or IPv6 (repeatable), at the
                           --rate-limit; loopback and private on-link senders are always answered
  --off-link private|none  senders behind a router with a private address (10/8, 172.16/12,
                           192.168/16, IPv6 fc00::/7), as a subnet scan from another segment
                           sends: private answers them at most 1 reply/s each (after a burst
                           of 4) and 20/s in all (default); none answers none (env
                           DISCOVERY_OFF_LINK). Public senders
                           behind a router are answered only if --allow covers them
  --rate-limit N           replies per second per source, 0 = no limit (default 20)
  --reply-jitter MIN-MAX   wait a random MIN to MAX ms before each reply, e.g. 20-120 (or
                           20ms-120ms, 0-1s) for large fleets (env DISCOVERY_REPLY_JITTER; default off)
  --registry URL           also register this service in etcd, for clients beyond this LAN:
                           etcd://host:2379, etcd://user:password@h1:2379,h2:2379/prefix/,
                           etcds://... for TLS (env DISCOVERY_REGISTRY; TLS files in
                           DISCOVERY_REGISTRY_CA, _CERT, _KEY). Kept under an etcd lease of
                           --lease (at least 2s), deleted on stop; needs npm install etcd3.
                           An unreachable etcd is a warning: LAN answers go on
  --duration DURATION      stop after this long: seconds, or with a unit: 500ms, 30s, 10m, 2h
  -q, --quiet              print only warnings and errors
  -v, --verbose            also print the library's info and debug lines on stderr
                           (before a command, beckon -v prints the version)
  --trace                  also print each request that got no reply, and why (off-link,
                           public, rate-limited, off-link-rate-limited, not-a-request,
                           unauthenticated, stale with the sender's clock skew...)
  -h, --help               show this help

Security (see docs/security.md; keys from "beckon keygen"; prefer the environment variables,
since other users of this host can read command lines):
  --encryption             Fernet mode, the original's encrypted mode: answer only requests
                           encrypted with the key (env DISCOVERY_ENCRYPTION_ENABLED)
  --secret-key KEY         the Fernet key (env DISCOVERY_SECRET_KEY)
  --no-replay-protection   in Fernet mode, accept old and repeated tokens, as the original does
  --replay-window DURATION how far a request's time may be from this host's clock: seconds, or
                           with a unit (10m); default 300. A request outside it is refused
                           with a warning naming the skew
  --auth-key KEY           answer only extended requests signed with KEY; repeat to accept
                           older keys during a rotation, current key first
                           (env DISCOVERY_AUTH_KEYS, comma-separated)

Metadata, sent in answers to extended requests (beckon discover --extended, --service):
  --service NAME           service name; requests for another service get no answer
  --name TEXT              display name
  --instance-id ID         stable id of this server (default: random at each start)
  --app-version TEXT       the application's version
  --scheme SCHEME          scheme of the advertised service (default http)
  --meta KEY=VALUE         a small key/value pair (repeatable, up to 8)`;

/** The flag of each library option that a flag sets, for errors about it. */
const FLAG_OF: Record<string, string> = {
  port: 'port',
  httpPort: 'http-port',
  advertiseAddress: 'advertise-address',
  bindAddress: 'bind-address',
  family: 'ipv6',
  joinGroups: 'no-groups',
  shareHost: 'no-share',
  announce: 'no-announce',
  lease: 'lease',
  announcePort: 'announce-port',
  message: 'message',
  prefix: 'prefix',
  allow: 'allow',
  offLink: 'off-link',
  rateLimit: 'rate-limit',
  replyJitter: 'reply-jitter',
  encryption: 'encryption',
  secretKey: 'secret-key',
  replayProtection: 'no-replay-protection',
  replayWindow: 'replay-window',
  authKeys: 'auth-key',
  service: 'service',
  name: 'name',
  instanceId: 'instance-id',
  version: 'app-version',
  scheme: 'scheme',
  metadata: 'meta',
  registry: 'registry',
};

/**
 * Whether a socket bound to `address` receives broadcasts: 0.0.0.0 does; on Linux a unicast
 * address does not (the kernel delivers a broadcast only to sockets bound to the wildcard or to
 * that broadcast address).
 */
function receivesBroadcasts(address: string): boolean {
  if (address === '0.0.0.0' || address === '255.255.255.255') return true;
  return listInterfaces().some((i) => i.broadcast === address);
}

/** `--ipv4` / `--ipv6`: one of them picks that family; neither or both, both families. */
function familyFlags(ipv4: boolean | undefined, ipv6: boolean | undefined) {
  if (ipv4 === ipv6) return undefined;
  return ipv4 ? 'IPv4' : 'IPv6';
}

function describeFamily(s: ResponderSettings): string {
  switch (s.family) {
    case 'IPv4':
      return 'IPv4 only';
    case 'IPv6':
      return 'IPv6 only (extended requests)';
    case 'any':
      return s.bindAddress === '0.0.0.0'
        ? 'IPv4, and IPv6 for extended requests'
        : `IPv4 only (bound to ${s.bindAddress})`;
  }
}

function describeGroups(s: ResponderSettings): string {
  if (!s.joinGroups) return 'none (--no-groups)';
  const groups = [
    s.family !== 'IPv6' && s.bindAddress === '0.0.0.0' ? IPV4_GROUP : undefined,
    s.family !== 'IPv4' && s.bindAddress === '0.0.0.0' ? IPV6_GROUP : undefined,
  ].filter((group) => group !== undefined);
  if (groups.length === 0) return `none (bound to ${s.bindAddress})`;
  const every = s.interfacePollInterval;
  const when = every === 0 ? 'at start' : `followed every ${formatDuration(every / 1000)}`;
  return `${groups.join(', ')} on every interface, ${when}`;
}

function describeSharing(s: ResponderSettings): string {
  if (s.shareHost)
    return "on (answers for this host's other beckon services, or registers with the one that does)";
  return s.mode === 'fernet' || s.message !== DEFAULT_MESSAGE || s.prefix !== DEFAULT_PREFIX
    ? 'off (Fernet mode, or a custom message or prefix)'
    : 'off (--no-share)';
}

function describeMode(s: ResponderSettings): string {
  switch (s.mode) {
    case 'plain':
      return 'none (plain requests, and extended requests without a key)';
    case 'fernet':
      return `Fernet encryption, replay protection ${s.replayProtection ? `on (${s.replayWindow / 1000} s window)` : 'off'}`;
    case 'authenticated':
      return `shared-key authentication (${s.replayWindow / 1000} s window; unsigned requests get no answer)`;
  }
}

/** `beckon serve`: a standalone responder. Resolves with the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const values = parseFlags(args, {
    port: { type: 'string', short: 'p' },
    'http-port': { type: 'string' },
    'advertise-address': { type: 'string' },
    'bind-address': { type: 'string' },
    ipv4: { type: 'boolean', short: '4' },
    ipv6: { type: 'boolean', short: '6' },
    'no-groups': { type: 'boolean' },
    'no-share': { type: 'boolean' },
    'no-announce': { type: 'boolean' },
    lease: { type: 'string' },
    'announce-port': { type: 'string' },
    message: { type: 'string' },
    prefix: { type: 'string' },
    allow: { type: 'string', multiple: true },
    'off-link': { type: 'string' },
    'rate-limit': { type: 'string' },
    'reply-jitter': { type: 'string' },
    encryption: { type: 'boolean' },
    'secret-key': { type: 'string' },
    'no-replay-protection': { type: 'boolean' },
    'replay-window': { type: 'string' },
    'auth-key': { type: 'string', multiple: true },
    service: { type: 'string' },
    name: { type: 'string' },
    'instance-id': { type: 'string' },
    'app-version': { type: 'string' },
    scheme: { type: 'string' },
    meta: { type: 'string', multiple: true },
    registry: { type: 'string' },
    duration: { type: 'string' },
    quiet: { type: 'boolean', short: 'q' },
    verbose: { type: 'boolean', short: 'v' },
    trace: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    println(io.stdout, withDocsPath(help));
    return 0;
  }
  const durationMs = durationFlag('duration', values.duration);
  const out = (line = '') => {
    if (!values.quiet) println(io.stdout, line);
  };
  const logger = cliLogger(io.stderr, values.verbose);
  const responder = withFlagNames(values, FLAG_OF, () =>
    createResponder({
      env: io.env,
      logger,
      ...defined({
        port: intFlag('port', values.port, 0, 65535),
        httpPort: intFlag('http-port', values['http-port'], 1, 65535),
        advertiseAddress: values['advertise-address'],
        bindAddress: values['bind-address'],
        family: familyFlags(values.ipv4, values.ipv6),
        joinGroups: values['no-groups'] ? false : undefined,
        shareHost: values['no-share'] ? false : undefined,
        announce: values['no-announce'] ? false : undefined,
        lease: durationFlag('lease', values.lease),
        announcePort: intFlag('announce-port', values['announce-port'], 1, 65535),
        message: values.message,
        prefix: values.prefix,
        allow: values.allow,
        offLink: values['off-link'] as ResponderOptions['offLink'],
        rateLimit: rateFlag('rate-limit', values['rate-limit']),
        replyJitter: jitterFlag(values['reply-jitter']),
        encryption: values.encryption,
        secretKey: values['secret-key'],
        replayProtection: values['no-replay-protection'] ? false : undefined,
        replayWindow: durationFlag('replay-window', values['replay-window']),
        authKeys: values['auth-key'],
        service: values.service,
        name: values.name,
        instanceId: values['instance-id'],
        version: values['app-version'],
        scheme: values.scheme,
        metadata: values.meta && metaFlag(values.meta),
        registry: values.registry,
      }),
    }),
  );
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
  out(`  Families:           ${describeFamily(s)}`);
  out(`  Multicast groups:   ${describeGroups(s)}`);
  out(`  Host sharing:       ${describeSharing(s)}`);
  out(
    `  Announcements:      ${s.announce ? `on, lease ${s.lease / 1000} s, to port ${s.announcePort ?? 'the bound port minus 1'}${s.joinGroups ? '' : ' (loopback only: --no-groups)'}` : 'off (--no-announce)'}`,
  );
  out(`  Advertised address: ${s.advertiseAddress ?? "the requester's subnet address"}`);
  out(`  Allowed senders:    loopback, private on-link${s.allow.map((c) => `, ${c}`).join('')}`);
  out(
    `  Off-link senders:   ${s.offLink === 'private' ? `private ones, at most ${OFF_LINK_RATE_PER_SOURCE} reply/s each (burst ${OFF_LINK_BURST}), ${OFF_LINK_RATE_TOTAL}/s in all` : 'none (--off-link none)'}`,
  );
  out(`  Rate limit:         ${s.rateLimit === 0 ? 'off' : `${s.rateLimit} replies/s per source`}`);
  const [jitterMin, jitterMax] = s.replyJitter;
  out(`  Reply jitter:       ${jitterMax === 0 ? 'off' : `${jitterMin}-${jitterMax} ms`}`);
  out(`  Logging:            ${s.logging ? 'on' : 'off'}`);
  out(`  Security:           ${describeMode(s)}`);
  out(`  Registry:           ${s.registry ?? 'none'}`);
  const m = s.metadata;
  out(`  Instance id:        ${m.instanceId}`);
  if (m.service !== undefined) out(`  Service:            ${m.service}`);
  if (m.name !== undefined) out(`  Name:               ${m.name}`);
  out();

  try {
    await responder.start();
  } catch (error) {
    if (!(error instanceof BindError && error.inUse)) throw error;
    logger.error(portHeldMessage(error.port, s.shareHost));
    return 1;
  }
  responder.on('role', ({ role, port }) =>
    out(
      role === 'answering'
        ? `[OK] Took over UDP port ${port}: answering for every beckon service on this host`
        : `[OK] Registered again with the beckon process that took over UDP port ${port}`,
    ),
  );
  responder.on('registry', ({ state, registry }) => {
    if (state === 'registered') out(`[OK] Registered in ${registry}`);
  });
  if (s.logging) {
    responder.on('reply', (r) => out(`Replied to ${r.to}:${r.toPort} with ${r.reply}`));
  }
  if (values.trace) {
    responder.on('drop', (d) => {
      // A stale token says how far the sender's clock is off: the one fact that explains it.
      const skew =
        d.skewMs === undefined ? '' : ` (its clock is ${describeSkew(d.skewMs)} this host's)`;
      println(io.stderr, `Dropped ${d.from}:${d.fromPort}: ${d.reason}${skew}`);
    });
  }
  if (responder.role === 'registered') {
    out(
      `[OK] Registered with the beckon process answering on UDP port ${responder.port} on this ` +
        'host: it answers for this service, and this process takes the port over if it stops',
    );
  } else {
    out(`[OK] Listening on ${s.family === 'IPv6' ? '[::]' : s.bindAddress}:${responder.port}`);
  }
  const unicast = !receivesBroadcasts(s.bindAddress);
  if (unicast) {
    logger.warn(
      `--bind-address ${s.bindAddress} is a unicast address: broadcasts (to 255.255.255.255 or a ` +
        'subnet broadcast address) are not delivered to a socket bound to it on Linux, so only ' +
        `requests sent straight to ${s.bindAddress}:${responder.port} get an answer. Leave ` +
        '--bind-address out (0.0.0.0) to answer broadcasts.',
    );
  }
  if (s.family === 'IPv6') {
    out(`Try it: beckon discover --ipv6 --port ${responder.port} --target ::1`);
  } else {
    out(
      `Try it: beckon discover --port ${responder.port}${unicast ? ` --target ${s.bindAddress}` : ''}`,
    );
  }
  // The registry as shown has no password: a user with one adds it to the URL.
  if (s.registry !== undefined)
    out(`From another network: beckon discover --registry ${s.registry}`);
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
