/**
 * `beckon doctor` as a library call: looks at the interfaces, the discovery port, the firewall
 * and the environment, runs a self-test, and turns what it saw into findings with fixes.
 */

import { discover, type Server } from '../client/discover.js';
import { resolveDiscoverSettings } from '../client/options.js';
import { channelPath } from '../host/channel.js';
import { HostRegistrant } from '../host/registrant.js';
import type { Logger } from '../logger.js';
import { listInterfaces } from '../network/interfaces.js';
import { listIPv6Interfaces } from '../network/interfaces6.js';
import { listLinkNames } from '../network/link-facts.js';
import { selectInterfaces } from '../network/select.js';
import type { Env } from '../options.js';
import {
  type ContainerFacts,
  type DefaultRoute,
  detectContainer,
  detectWsl,
  readDefaultRoute,
  type WslFacts,
} from './environment.js';
import { diagnoseIPv6 } from './findings6.js';
import { checkFirewall, type FirewallReport } from './firewall/index.js';
import { type InterfaceReport, inventoryInterfaces, readLinkAddresses } from './inventory.js';
import type { IPv6Sources } from './inventory6.js';
import { type HostIPv6State, ipv6FactsReader } from './ipv6-facts.js';
import { readMemberships } from './memberships.js';
import {
  type BoundSocket,
  bindTest,
  boundSockets,
  type PortHolder,
  socketHolders,
} from './port-owner.js';
import { describeScanTime, detectSegmentedNetwork, type SegmentedNetwork } from './segmented.js';
import { runSelfTest, type SelfTestReport } from './self-test.js';

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  /** The discovery port to check. Env `DISCOVERY_CLIENT_PORT`, then `DISCOVERY_PORT`. @default 9999 */
  port?: number;
  /**
   * Run the self-test (it broadcasts once per usable interface to a random port, and asks it
   * on `::1` when IPv6 is on). @default true
   */
  selfTest?: boolean;
  /** Environment to read settings (interface patterns, port) from. @default process.env */
  env?: Env;
  /**
   * Where warnings about the settings go: unknown `DISCOVERY_*` variables (typos), or
   * `DISCOVERY_PORT=0`. @default a `util.debuglog('beckon')` logger (`NODE_DEBUG=beckon`)
   */
  logger?: Logger;
  /** Aborts the checks: `runDoctor` then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

/** The discovery port on this host. */
export interface PortReport {
  readonly port: number;
  /** `free`, `in-use` (some socket holds it), or `forbidden` (a privileged port). */
  readonly state: 'free' | 'in-use' | 'forbidden';
  /** Sockets bound to it (Linux). */
  readonly sockets: readonly BoundSocket[];
  /** Processes holding them (Linux; other users' only as root). */
  readonly holders: readonly PortHolder[];
  /**
   * What the holder answers on loopback: `beckon` (beckon's extended request), `discovery`
   * (the original's request: django-udp-discovery, or beckon in plain mode), `nothing`.
   */
  readonly answers: 'beckon' | 'discovery' | 'nothing' | undefined;
  /**
   * The holder is a beckon responder: it answers beckon's extended request, or its command line
   * runs beckon's CLI (by real path, {@link PortHolder.beckon}). A silent responder hosted by
   * another program (the library with a key or a service) cannot be told apart and is `false`.
   */
  readonly beckon: boolean;
  /**
   * The holder listens on the port's host channel: a beckon responder that shares the port, with
   * which the host's other beckon services register (docs/many-services.md).
   */
  readonly shares?: boolean;
  /** What the holder says about itself, when it answered beckon's request. */
  readonly server: Pick<Server, 'ip' | 'port' | 'metadata'> | undefined;
}

/** Where this process runs. */
export interface EnvironmentReport {
  readonly container: ContainerFacts;
  readonly wsl: WslFacts;
  /** VPN interfaces that are up. */
  readonly vpn: readonly string[];
  /** The IPv4 default route, `none`, or `unknown` (no /proc/net/route). */
  readonly defaultRoute: DefaultRoute | 'none' | 'unknown';
  /** What the firewall does to discovery requests over IPv4. */
  readonly firewall: FirewallReport;
  /**
   * IPv6 on this host: `on`, `disabled` (`net.ipv6.conf.all.disable_ipv6 = 1`), `absent` (no
   * IPv6 in the kernel, or `ipv6.disable=1`), `unknown` (not Linux).
   */
  readonly ipv6: HostIPv6State;
  /** What the firewall does to discovery requests over IPv6; undefined when IPv6 is off. */
  readonly firewall6: FirewallReport | undefined;
}

/** Something doctor found, with what to do about it. */
export interface Finding {
  /** A stable identifier, e.g. `port-held`, `firewall-drops`, `segmented-network`. */
  readonly id: string;
  /** `problem`: discovery fails because of it; `warning`: it may; `info`: worth knowing. */
  readonly severity: 'problem' | 'warning' | 'info';
  readonly message: string;
  /** A command or step that fixes it. */
  readonly fix: string | undefined;
}

/** Everything `beckon doctor` reports; `--json` prints exactly this. */
export interface DoctorReport {
  /** The version of this shape; bumped on any incompatible change. */
  readonly schema: 1;
  readonly interfaces: readonly InterfaceReport[];
  readonly port: PortReport;
  /** Undefined when skipped (`selfTest: false`). */
  readonly selfTest: SelfTestReport | undefined;
  readonly environment: EnvironmentReport;
  readonly segmentedNetworks: readonly SegmentedNetwork[];
  readonly findings: readonly Finding[];
}

/**
 * Diagnoses discovery on this host. Reads the system, binds a free port for the self-test, and
 * sends only to this host (the holder probe on loopback, the self-test's broadcasts come back
 * to this host); never throws for what it finds.
 *
 * @throws {InvalidOptionError} for an invalid option or environment variable.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const settings = resolveDiscoverSettings({
    env,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.port ? { port: options.port } : {}),
  });
  const { port } = settings;
  const signal = options.signal;
  const running = listInterfaces();
  const facts6 = ipv6FactsReader();
  const ipv6: IPv6Sources = {
    host: facts6.host(),
    interfaces: listIPv6Interfaces(),
    inet6: facts6.addresses(),
    memberships: readMemberships(),
    link: facts6.link,
    bridge: facts6.bridge,
  };
  const ipv6Off = ipv6.host === 'disabled' || ipv6.host === 'absent';
  const interfaces = inventoryInterfaces(
    {
      interfaces: () => running,
      linkNames: listLinkNames,
      linkAddresses: await readLinkAddresses(),
      ipv6,
    },
    settings.include,
    settings.exclude,
  );
  const usable = selectInterfaces(running, settings.include, settings.exclude).selected;
  const [portReport, selfTest, firewall, firewall6] = await Promise.all([
    inspectPort(port, env, signal),
    options.selfTest === false
      ? undefined
      : runSelfTest(usable, { ipv6: !ipv6Off, ...(signal ? { signal } : {}) }),
    checkFirewall(port),
    ipv6Off ? undefined : checkFirewall(port, 'IPv6'),
  ]);
  signal?.throwIfAborted(); // an aborted probe or self-test proves nothing
  const route = readDefaultRoute();
  const environment: EnvironmentReport = {
    container: detectContainer(env),
    wsl: detectWsl(
      interfaces.map((i) => i.name),
      env,
    ),
    vpn: interfaces.filter((i) => i.class === 'vpn' && i.up).map((i) => i.name),
    defaultRoute: route === null ? 'unknown' : (route ?? 'none'),
    firewall,
    ipv6: ipv6.host,
    firewall6,
  };
  const segmentedNetworks = detectSegmentedNetwork(usable, { port });
  const report = {
    schema: 1 as const,
    interfaces,
    port: portReport,
    selfTest,
    environment,
    segmentedNetworks,
  };
  return { ...report, findings: diagnose(report) };
}

async function inspectPort(
  port: number,
  env: Env,
  signal: AbortSignal | undefined,
): Promise<PortReport> {
  const state = await bindTest(port);
  const sockets = boundSockets(port);
  const holders = socketHolders(sockets);
  if (state !== 'in-use') {
    return { port, state, sockets, holders, answers: undefined, beckon: false, server: undefined };
  }
  // Ask the holder on the address it is bound to; a wildcard bind answers on loopback.
  const bound = sockets.find((s) => s.family === 'IPv4')?.address;
  const target = !bound || bound === '0.0.0.0' ? '127.0.0.1' : bound;
  const ask = (extra: { extended?: boolean; env: Env }) =>
    discover({
      port,
      targets: [target],
      broadcast: false,
      timeout: 600,
      retries: 1,
      maxResults: 1,
      // The original advertises its default-route address even to a loopback asker: a reply
      // claiming another address than its source still shows that the holder answers.
      acceptForeignAddresses: true,
      ...extra,
      ...(signal ? { signal } : {}),
    }).catch(() => [] as Server[]);
  const [extended] = await ask({ extended: true, env: {} });
  const [plain] = extended ? [] : await ask({ env });
  const answers = extended ? 'beckon' : plain ? 'discovery' : 'nothing';
  const shares = await channelListens(port);
  return {
    port,
    state,
    sockets,
    holders,
    answers,
    shares,
    beckon: shares || answers === 'beckon' || holders.some((h) => h.beckon),
    server: extended
      ? { ip: extended.ip, port: extended.port, metadata: extended.metadata }
      : undefined,
  };
}

/** Whether a beckon responder listens on the host channel of `port` (connects, then leaves). */
async function channelListens(port: number): Promise<boolean> {
  const registrant = new HostRegistrant({ path: channelPath(port) });
  try {
    await registrant.connect();
    return true;
  } catch {
    return false;
  } finally {
    registrant.close();
  }
}

/** Turns the observations into findings, most severe first. Pure. */
export function diagnose(report: Omit<DoctorReport, 'findings'>): Finding[] {
  const findings: Finding[] = [];
  const add = (id: string, severity: Finding['severity'], message: string, fix?: string) =>
    findings.push({ id, severity, message, fix });
  const { port, selfTest, environment: env } = report;
  const p = port.port;

  if (!report.interfaces.some((i) => i.used))
    add(
      'no-usable-interface',
      'problem',
      'Discovery has no interface to broadcast on: no interface is up with a usable IPv4 address.',
      'Connect to the network (check the cable or Wi-Fi), or ask a server directly: beckon discover --target <server-ip>',
    );
  for (const iface of report.interfaces) {
    if (!iface.up && (iface.class === 'physical' || iface.class === 'wireless'))
      add('interface-down', 'info', `${iface.name} is not used: ${iface.reason}.`);
    if (!iface.used && iface.addresses.some((a) => a.skipped === 'link-local'))
      add(
        'link-local',
        'warning',
        `${iface.name} has only a 169.254 address: DHCP gave it none, so it is on no usable network.`,
        `Renew the lease (e.g. dhclient ${iface.name} or nmcli device reapply ${iface.name}), or set an address.`,
      );
  }

  const holder = port.holders.map((h) => `PID ${h.pid} (${h.command})`).join(', ');
  const heldBy = holder || 'a process this user cannot see (run as root to name it)';
  if (port.state === 'forbidden')
    add(
      'port-forbidden',
      'problem',
      `UDP port ${p} needs privileges to bind.`,
      'Use a port above 1023.',
    );
  else if (port.state === 'in-use' && port.answers === 'nothing' && port.shares)
    add(
      'port-answers',
      'info',
      `UDP port ${p} is held by ${heldBy}, a beckon responder that answers only requests with a key or for a service, and answers for this host's other beckon services too (they register with it).`,
    );
  else if (port.state === 'in-use' && port.answers === 'nothing')
    add(
      'port-held',
      port.beckon ? 'warning' : 'problem',
      `UDP port ${p} is held by ${heldBy}, which does not answer discovery requests${port.beckon ? ' (a beckon responder with a key or another service, or in standby)' : ''}. A responder on this host cannot use the port.`,
      holder
        ? `Stop it (kill ${port.holders[0]?.pid}), or run the responder on another port (--port).`
        : undefined,
    );
  else if (port.state === 'in-use')
    add(
      'port-answers',
      'info',
      `UDP port ${p} is held by ${heldBy}, which answers discovery requests${port.beckon ? ' (beckon)' : ''}${port.shares ? ", and for this host's other beckon services too (they register with it)" : ''}.`,
    );

  for (const result of selfTest?.results ?? []) {
    if (!result.found)
      add(
        'self-test-failed',
        'problem',
        `The self-test found no answer over ${result.interface} (${result.address})${result.dropped ? `: the test responder dropped it (${result.dropped})` : ': broadcasts on it do not come back'}.`,
        'Check the firewall of this host (output and input rules), then run beckon discover --trace.',
      );
  }
  if (selfTest?.error)
    add('self-test-failed', 'problem', `The self-test could not run: ${selfTest.error}.`);

  const { firewall } = env;
  if (firewall.verdict === 'dropped')
    add(
      'firewall-drops',
      'problem',
      `The ${firewall.tool} firewall drops discovery requests to UDP port ${p}: ${firewall.where}.`,
      firewall.fix,
    );
  else if (firewall.verdict === 'may-drop')
    add(
      'firewall-may-drop',
      'warning',
      `The ${firewall.tool} firewall may drop discovery requests to UDP port ${p} (${firewall.where}, when ${firewall.conditions.join(' and ')}).`,
      firewall.fix,
    );
  else if (firewall.verdict === 'unknown')
    add('firewall-unknown', 'info', `Firewall not checked: ${firewall.why}.`);

  diagnoseIPv6(report, add);

  if (env.container.inContainer)
    add(
      'container',
      'warning',
      `This runs in a container (${env.container.evidence}). A container on a bridge network neither sees LAN broadcasts nor can be reached by them.`,
      'Run the container with host networking (docker run --network host), or publish the port (-p 9999:9999/udp) and use beckon discover --target <docker-host-ip> from the LAN.',
    );
  if (env.wsl.mode === 'nat')
    add(
      'wsl-nat',
      'problem',
      'This is WSL 2 in NAT mode: the Linux VM sits behind a private network, so LAN broadcasts never reach it and its answers cannot reach the LAN.',
      'Use mirrored networking: networkingMode=mirrored under [wsl2] in %UserProfile%\\.wslconfig, then wsl --shutdown.',
    );
  if (env.wsl.mode === 'mirrored')
    add(
      'wsl-mirrored',
      'info',
      "This is WSL 2 with mirrored networking: discovery works once Hyper-V's firewall lets inbound UDP in.",
      "In an admin PowerShell: Set-NetFirewallHyperVVMSetting -Name '{40E0AC32-46A5-438A-A0B2-2B479E8F2E90}' -DefaultInboundAction Allow",
    );
  if (env.vpn.length > 0)
    add(
      'vpn',
      'warning',
      `A VPN is up (${env.vpn.join(', ')}). Broadcasts do not cross tunnels, and many VPN clients block the local network while connected.`,
      'Allow local network access in the VPN client (or disconnect to test); reach servers beyond the tunnel with --target.',
    );
  if (env.defaultRoute === 'none')
    add(
      'no-default-route',
      'info',
      'There is no default route: this host reaches only its own subnets. Discovery on them works (beckon needs no default route); servers behind a router need a route to them and --target.',
    );
  for (const s of report.segmentedNetworks)
    add(
      'segmented-network',
      'warning',
      `${s.interface} (${s.address}) is on ${s.network}, ${s.addresses} addresses. Networks this large are usually cut into /24 segments (${s.segments} of them); a broadcast reaches only this one, ${s.likelyBroadcastDomain}.`,
      `Ask servers in other segments directly: ${s.fix} (the server's segment, ${s.segmentRange}), or --target <server-ip>. Or scan the subnet: ${s.scanFix} (${describeScanTime(s.scanSeconds)}: on this host's own subnet a scan goes at most 256 probes/s), or --scan auto, which scans it when broadcast finds nothing.`,
    );
  const order = { problem: 0, warning: 1, info: 2 };
  return findings.sort((a, b) => order[a.severity] - order[b.severity]);
}
