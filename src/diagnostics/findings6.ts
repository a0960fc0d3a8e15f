/**
 * doctor's IPv6 and multicast findings (docs/troubleshooting.md, "IPv6 and multicast"): IPv6 off
 * on the host or on a link, a link without a usable link-local address, a snooping bridge that
 * is no querier, a firewall that drops the port over IPv6, a failed IPv6 loopback self-test.
 * Pure.
 */
import type { DoctorReport, Finding } from './doctor.js';
import type { FirewallReport } from './firewall/index.js';
import type { InterfaceReport } from './inventory.js';

type Add = (id: string, severity: Finding['severity'], message: string, fix?: string) => void;

const GROUPS = 'ff12::6265:636b and 239.255.98.107';

/** Adds the IPv6 and multicast findings of `report` through `add`. */
export function diagnoseIPv6(report: Omit<DoctorReport, 'findings'>, add: Add): void {
  const env = report.environment;
  const p = report.port.port;
  if (env.ipv6 === 'absent')
    add(
      'ipv6-off',
      'warning',
      'This host has no IPv6 (no /proc/net/if_inet6: a kernel built without it, or booted with ipv6.disable=1). beckon runs over IPv4 only here: servers reachable only over IPv6 stay unseen, and IPv6 clients cannot find a responder on this host.',
      'Remove ipv6.disable=1 from the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub) and reboot.',
    );
  else if (env.ipv6 === 'disabled')
    add(
      'ipv6-off',
      'warning',
      'IPv6 is disabled on this host (net.ipv6.conf.all.disable_ipv6 = 1). beckon runs over IPv4 only here: servers reachable only over IPv6 stay unseen, and IPv6 clients cannot find a responder on this host.',
      'sysctl -w net.ipv6.conf.all.disable_ipv6=0 net.ipv6.conf.default.disable_ipv6=0, and remove the setting from /etc/sysctl.conf and /etc/sysctl.d/ to keep it.',
    );
  if (env.ipv6 === 'on') for (const iface of report.interfaces) diagnoseLink(iface, add);
  for (const iface of report.interfaces) {
    const bridge = iface.bridge;
    if (!iface.up || !bridge?.snooping || bridge.querier) continue;
    add(
      'snooping-without-querier',
      iface.class === 'container' ? 'info' : 'warning',
      `${iface.name} is a bridge that snoops multicast (multicast_snooping 1) but sends no queries (multicast_querier 0). Unless another device on the LAN is a querier, the memberships it learnt from responders expire (multicast_membership_interval, 260 s by default) and it may then stop forwarding beckon's groups (${GROUPS}) to them: discovery over multicast works for a few minutes, then finds nothing.`,
      `ip link set ${iface.name} type bridge mcast_querier 1 (or mcast_snooping 0); to keep it, set it where the bridge is configured (systemd-networkd: MulticastQuerier=yes in the [Bridge] section; NetworkManager: nmcli connection modify ${iface.name} bridge.multicast-querier yes).`,
    );
  }
  diagnoseFirewall6(env.firewall, env.firewall6, p, add);
  const loopback6 = report.selfTest?.loopback6;
  if (loopback6 && !loopback6.found)
    add(
      'self-test-ipv6-failed',
      'warning',
      `The self-test found no answer over IPv6 on loopback (::1 to ::1)${loopback6.dropped ? `: the test responder dropped it (${loopback6.dropped})` : ''}. beckon's IPv6 socket does not work on this host.`,
      'Check that lo has ::1 (ip -6 addr show lo) and that no firewall rule drops IPv6 UDP on lo (ip6tables-save, nft list ruleset).',
    );
}

function diagnoseLink(iface: InterfaceReport, add: Add): void {
  if (!iface.up || iface.class === 'loopback' || iface.class === 'vpn') return;
  const name = iface.name;
  if (iface.ipv6.disabled) {
    add(
      'ipv6-disabled',
      'warning',
      `IPv6 is disabled on ${name} (net.ipv6.conf.${name}.disable_ipv6 = 1): beckon neither answers nor discovers over IPv6 on it, and servers on this link reachable only over IPv6 stay unseen.`,
      `sysctl -w net.ipv6.conf.${name}.disable_ipv6=0 (to keep it, remove the setting from /etc/sysctl.conf and /etc/sysctl.d/, or from the link's network configuration).`,
    );
    return;
  }
  if (iface.ipv6.disabled === undefined) return; // not Linux: nothing is known
  const linkLocal = iface.ipv6.addresses.filter((a) => a.kind === 'link-local');
  if (linkLocal.some((a) => a.state === 'usable')) return;
  const failed = linkLocal.find((a) => a.state === 'dad-failed');
  const tentative = linkLocal.find((a) => a.state === 'tentative');
  const noMulticast = `IPv6 multicast cannot leave ${name}, so beckon neither answers nor discovers over IPv6 on it`;
  const restart = `ip link set ${name} down && ip link set ${name} up`;
  if (failed)
    add(
      'no-link-local',
      'warning',
      `${name} has no usable link-local address: ${failed.address} failed duplicate address detection (another host on the link uses it, often a cloned VM with the same MAC address). ${noMulticast}.`,
      `Give one of the two hosts another MAC address, or make this one's address random: ip link set ${name} addrgenmode random && ${restart}.`,
    );
  else if (tentative)
    add(
      'no-link-local',
      'info',
      `${name}'s link-local address ${tentative.address} is still tentative (duplicate address detection runs for a second or two after the link comes up); until then ${noMulticast}.`,
      'Run beckon doctor again in a few seconds.',
    );
  else if (iface.ipv6.addrGenMode === 'none')
    add(
      'no-link-local',
      'warning',
      `${name} has no link-local address: its addr_gen_mode is none, so the kernel makes none (ip link set ${name} addrgenmode none, or a network manager that does so). ${noMulticast}.`,
      `sysctl -w net.ipv6.conf.${name}.addr_gen_mode=0 (or ip link set ${name} addrgenmode eui64 && ${restart}).`,
    );
  else
    add(
      'no-link-local',
      'warning',
      `${name} has no link-local address (it was removed, or the link came up before IPv6 was enabled on it). ${noMulticast}.`,
      restart,
    );
}

function diagnoseFirewall6(
  firewall: FirewallReport,
  firewall6: FirewallReport | undefined,
  port: number,
  add: Add,
): void {
  if (!firewall6 || (firewall6.verdict !== 'dropped' && firewall6.verdict !== 'may-drop')) return;
  // An inet table's rule drops both families: the IPv4 finding already names it.
  if (firewall.verdict === firewall6.verdict && firewall.where === firewall6.where) return;
  const only = firewall.verdict === 'accepted' ? ' only' : '';
  const effect = `IPv4 discovery is not affected, but IPv6 requests (and every request from an IPv6-only link) to this host go unanswered`;
  if (firewall6.verdict === 'dropped')
    add(
      'firewall-drops-ipv6',
      'warning',
      `The ${firewall6.tool} firewall drops discovery requests to UDP port ${port} over IPv6${only}: ${firewall6.where}. ${effect}.`,
      firewall6.fix,
    );
  else
    add(
      'firewall-may-drop-ipv6',
      'warning',
      `The ${firewall6.tool} firewall may drop discovery requests to UDP port ${port} over IPv6${only} (${firewall6.where}, when ${firewall6.conditions.join(' and ')}). ${effect}.`,
      firewall6.fix,
    );
}
