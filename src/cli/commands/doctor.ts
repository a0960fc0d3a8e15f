import { type DoctorReport, runDoctor } from '../../diagnostics/doctor.js';
import type { FirewallReport } from '../../diagnostics/firewall/index.js';
import { defined, intFlag, parseFlags, withFlagNames } from '../args.js';
import { formatTable } from '../format.js';
import { type CliIo, cliLogger, println, signalExitCode } from '../io.js';
import { withDocsPath } from '../package-files.js';

export const help = `Usage: beckon doctor [options]

Explain why discovery finds nothing here, and how to fix it: every interface and whether
discovery uses it, its IPv6 addresses and beckon's multicast groups joined on it, who holds the
discovery port, a self-test, container/WSL/VPN/route/firewall hints (IPv4 and IPv6), IPv6
failure modes (IPv6 off, no link-local address, a snooping bridge without querier), the
segmented-network check (with the --target and --scan commands that cross it), and, with
--registry, whether the registry can be read. See docs/troubleshooting.md.
Exit status: 0 when no problem was found, 1 when one was, 2 on a usage error; 130 / 143 when
stopped by Ctrl+C (SIGINT) or SIGTERM before the checks were done (no report is printed).
Warnings about the settings (a misspelled DISCOVERY_* variable, DISCOVERY_PORT=0) go to stderr.

Options:
  -p, --port N      the discovery port to check (env DISCOVERY_CLIENT_PORT or DISCOVERY_PORT,
                    default 9999)
  -j, --json        print the report as one JSON object (shape in docs/troubleshooting.md)
  --registry URL    also check this registry (etcd://host:2379; env DISCOVERY_REGISTRY): that it
                    can be read, and how many beckon records it holds (docs/registry.md)
  --no-self-test    skip the self-test (a responder on a free port, discovered over each
                    usable interface: up to three broadcasts per interface, which only this
                    host answers; and up to three requests from ::1 to ::1 when IPv6 is on)
  -h, --help        show this help

Interface patterns come from DISCOVERY_CLIENT_INTERFACES_WHITELIST/BLACKLIST, as for discover.
The firewall can only be read as root.`;

/** `beckon doctor`. Resolves with the exit code. */
export async function run(args: string[], io: CliIo): Promise<number> {
  const values = parseFlags(args, {
    port: { type: 'string', short: 'p' },
    json: { type: 'boolean', short: 'j' },
    'no-self-test': { type: 'boolean' },
    registry: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    println(io.stdout, withDocsPath(help));
    return 0;
  }
  // Ctrl+C or SIGTERM stops the checks; the report would be half made, so none is printed.
  const controller = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const removeSignal = io.onSignal((signal) => {
    interrupted ??= signal;
    controller.abort(new Error(`Interrupted (${signal})`));
  });
  let report: DoctorReport;
  try {
    report = await withFlagNames(
      values,
      { port: 'port', selfTest: 'no-self-test', registry: 'registry' },
      () =>
        runDoctor({
          env: io.env,
          logger: cliLogger(io.stderr),
          signal: controller.signal,
          ...defined({
            port: intFlag('port', values.port, 1, 65535),
            selfTest: values['no-self-test'] ? false : undefined,
            registry: values.registry,
          }),
        }),
    );
  } catch (error) {
    if (interrupted === undefined || error !== controller.signal.reason) throw error;
    println(io.stderr, `Interrupted by ${interrupted} before the checks were done: no report.`);
    return signalExitCode(interrupted);
  } finally {
    removeSignal();
  }
  println(io.stdout, values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return report.findings.some((f) => f.severity === 'problem') ? 1 : 0;
}

/** The report as text for people. */
export function formatReport(report: DoctorReport): string {
  const out: string[] = [];
  const section = (title: string) => out.push('', title);
  const { port, selfTest, environment: env } = report;

  section('Interfaces');
  const rows = report.interfaces.flatMap((iface) => {
    const decision = iface.used ? 'used' : `not used: ${iface.reason}`;
    const state = iface.up
      ? 'up'
      : `down${iface.state && iface.state !== 'down' ? ` (${iface.state})` : ''}`;
    if (iface.addresses.length === 0) return [[iface.name, iface.class, state, '-', '-', decision]];
    return iface.addresses.map((a, i) => [
      i === 0 ? iface.name : '',
      i === 0 ? iface.class : '',
      i === 0 ? state : '',
      `${a.address}/${a.prefix}`,
      a.broadcast ?? '-',
      i === 0 ? decision : a.used ? 'used' : `not used: ${a.skipped}`,
    ]);
  });
  out.push(
    indent(formatTable(['NAME', 'CLASS', 'STATE', 'ADDRESS', 'BROADCAST', 'DISCOVERY'], rows)),
  );

  section(`IPv6 and multicast (IPv6 ${HOST_IPV6[env.ipv6]})`);
  out.push(
    indent(
      formatTable(['NAME', 'IPV6', 'ADDRESS', 'KIND', 'BECKON GROUPS', 'BRIDGE'], ipv6Rows(report)),
    ),
  );

  section(`UDP port ${port.port}`);
  if (port.state === 'free') out.push('  free: no process on this host holds it');
  else if (port.state === 'forbidden') out.push('  needs privileges to bind');
  else {
    const holders = port.holders.map((h) => `PID ${h.pid} (${h.command}) on ${h.address}`);
    out.push(`  held by ${holders.join(', ') || 'a process this user cannot see'}`);
    const who = port.server?.metadata;
    const answers =
      port.answers === 'beckon'
        ? `a beckon responder${who?.name ? ` "${who.name}"` : ''}${who?.service ? `, service ${who.service}` : ''}, advertising ${port.server?.ip}:${port.server?.port}`
        : port.answers === 'discovery'
          ? 'a discovery responder (the original protocol)'
          : `nothing${port.beckon ? ' (its command runs beckon)' : ''}`;
    out.push(`  answers: ${answers}`);
  }

  section('Self-test');
  if (!selfTest) out.push('  skipped (--no-self-test)');
  else if (selfTest.error) out.push(`  could not run: ${selfTest.error}`);
  else if (selfTest.results.length === 0) out.push('  no usable interface to test');
  else {
    out.push(`  a responder on UDP port ${selfTest.port}, discovered over each usable interface:`);
    for (const r of selfTest.results) {
      const outcome = r.found
        ? `found in ${r.rttMs?.toFixed(1)} ms`
        : `NOT found${r.dropped ? ` (dropped: ${r.dropped})` : ''}`;
      out.push(`  ${r.interface} ${r.address}: ${outcome}`);
    }
    const r6 = selfTest.loopback6;
    if (r6)
      out.push(
        `  IPv6 ::1 -> ::1: ${r6.found ? `found in ${r6.rttMs?.toFixed(1)} ms` : `NOT found${r6.dropped ? ` (dropped: ${r6.dropped})` : ''}`}`,
      );
  }

  section('Environment');
  out.push(
    `  container:     ${env.container.inContainer ? `yes (${env.container.evidence})` : 'no'}`,
  );
  const wsl = env.wsl.mode ? `WSL 2, ${env.wsl.mode} networking` : `WSL ${env.wsl.version}`;
  out.push(`  WSL:           ${env.wsl.inWsl ? wsl : 'no'}`);
  out.push(`  VPN:           ${env.vpn.length > 0 ? env.vpn.join(', ') : 'none up'}`);
  const route = env.defaultRoute;
  out.push(
    `  default route: ${typeof route === 'string' ? route : route.gateway === '0.0.0.0' ? `on ${route.interface}` : `via ${route.gateway} on ${route.interface}`}`,
  );
  out.push(`  firewall:      ${describeFirewall(env.firewall, port.port)}`);
  out.push(`  IPv6:          ${HOST_IPV6[env.ipv6]}`);
  if (env.firewall6) out.push(`  firewall IPv6: ${describeFirewall(env.firewall6, port.port)}`);

  section('Segmented networks');
  if (report.segmentedNetworks.length === 0)
    out.push('  none: no large private subnet on a used interface');
  for (const s of report.segmentedNetworks)
    out.push(
      `  ${s.interface} ${s.address} on ${s.network}: ${s.segments} /24 segments; broadcasts reach ${s.likelyBroadcastDomain}`,
    );

  const registry = report.registry;
  if (registry) {
    section(`Registry ${registry.url}`);
    if (!registry.reachable) out.push(`  NOT reachable: ${registry.error}`);
    else {
      const per = registry.services
        .map((s) => `${s.service ?? '(no service)'}: ${s.records}`)
        .join(', ');
      out.push(
        `  reachable (read in ${registry.readMs?.toFixed(0)} ms): ${registry.records} beckon record${registry.records === 1 ? '' : 's'}${per ? ` (${per})` : ''}${registry.invalid ? `, ${registry.invalid} invalid` : ''}`,
      );
    }
  }

  section('Findings');
  if (report.findings.length === 0) out.push('  none: discovery should work from this host.');
  for (const f of report.findings) {
    out.push(`  [${f.severity}] ${f.message}`);
    if (f.fix) out.push(`      fix: ${f.fix}`);
  }
  const problems = report.findings.filter((f) => f.severity === 'problem').length;
  const warnings = report.findings.filter((f) => f.severity === 'warning').length;
  out.push(
    '',
    `${problems} problem${problems === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}.`,
  );
  return out.join('\n').replace(/^\n/, '');
}

const HOST_IPV6: Record<DoctorReport['environment']['ipv6'], string> = {
  on: 'on',
  disabled: 'disabled: net.ipv6.conf.all.disable_ipv6 = 1',
  absent: 'absent: no IPv6 in the kernel',
  unknown: 'unknown',
};

const ADDRESS_STATE = { usable: '', tentative: ' (tentative)', 'dad-failed': ' (DAD failed)' };

/** One row per IPv6 address of each link; a link without any gets one row saying why. */
function ipv6Rows(report: DoctorReport): string[][] {
  return report.interfaces.flatMap((iface) => {
    const { ipv6, bridge } = iface;
    const state = ipv6.disabled ? 'off' : ipv6.disabled === false ? 'on' : '?';
    const groups =
      iface.groups === undefined ? '?' : iface.groups.length > 0 ? iface.groups.join(', ') : '-';
    const bridgeText = bridge
      ? bridge.snooping
        ? `snooping, ${bridge.querier ? 'querier' : 'NO querier'}`
        : 'no snooping'
      : '-';
    const none = ipv6.addrGenMode === 'none' && !ipv6.disabled ? '- (addr_gen_mode none)' : '-';
    if (ipv6.addresses.length === 0) return [[iface.name, state, none, '-', groups, bridgeText]];
    return ipv6.addresses.map((a, i) => [
      i === 0 ? iface.name : '',
      i === 0 ? state : '',
      `${a.address}/${a.prefix}`,
      `${a.kind}${ADDRESS_STATE[a.state]}`,
      i === 0 ? groups : '',
      i === 0 ? bridgeText : '',
    ]);
  });
}

function describeFirewall(firewall: FirewallReport, port: number): string {
  switch (firewall.verdict) {
    case 'accepted':
      return `${firewall.tool} lets UDP ${port} in`;
    case 'dropped':
      return `${firewall.tool} DROPS UDP ${port}: ${firewall.where}`;
    case 'may-drop':
      return `${firewall.tool} may drop UDP ${port}: ${firewall.where}`;
    default:
      return `not checked: ${firewall.why}`;
  }
}

function indent(text: string): string {
  return text.replace(/^/gm, '  ');
}
