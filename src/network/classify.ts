/** What kind of network an interface leads to, from its name and link facts. Pure. */
import type { LinkFacts } from './link-facts.js';

/**
 * The kind of an interface:
 * - `physical`: a wired card (or one we cannot tell apart from one);
 * - `wireless`: a Wi-Fi card;
 * - `vpn`: a tunnel (WireGuard, OpenVPN tun/tap, PPP, IPsec, Tailscale, ZeroTier...);
 * - `container`: a container network (Docker, Podman, Kubernetes CNI, LXC/LXD);
 * - `virtual`: any other software link (bridge, veth, VM host-only network, dummy);
 * - `loopback`: this host only;
 * - `link-local`: a 169.254/16 address, the sign of a failed DHCP.
 */
export type InterfaceClass =
  | 'physical'
  | 'wireless'
  | 'vpn'
  | 'container'
  | 'virtual'
  | 'loopback'
  | 'link-local';

const VPN_NAMES =
  /^(tun|tap|wg|ppp|utun|ipsec|vti|tailscale|zt|nordlynx|proton|cscotun|gpd|nebula)|vpn|wireguard/i;
const CONTAINER_NAMES =
  /^(docker\d*|br-[0-9a-f]{12}|cni\d*|flannel|cali|cilium|weave|podman\d*|lxcbr\d*|lxdbr\d*|kube-|vxlan\.calico|nerdctl\d*|virbr-?docker)/i;
const VIRTUAL_NAMES =
  /^(veth|virbr|vboxnet|vmnet|vnet|br\d|bridge|dummy|macvtap|vEthernet|VirtualBox|VMware|Hyper-V)/i;
const WIRELESS_NAMES = /^wl|wi-?fi|wireless|wlan/i;

/** ARP hardware types: loopback, PPP, "none" (tun and WireGuard), IP-in-IP, GRE, SIT. */
const LOOPBACK_TYPE = 772;
const TUNNEL_TYPES = new Set([512, 65534, 768, 776, 778]);

/**
 * Classifies one interface address. Linux link facts decide where they are known; names decide
 * elsewhere (macOS, Windows) and for the families only a name tells apart (a Docker bridge is a
 * bridge like any other to the kernel).
 */
export function classifyInterface(
  name: string,
  facts: LinkFacts,
  address: { loopback: boolean; linkLocal: boolean },
): InterfaceClass {
  if (address.loopback || facts.type === LOOPBACK_TYPE) return 'loopback';
  if (address.linkLocal) return 'link-local';
  if (
    facts.tun ||
    facts.devtype === 'wireguard' ||
    (facts.type !== undefined && TUNNEL_TYPES.has(facts.type)) ||
    VPN_NAMES.test(name)
  )
    return 'vpn';
  if (CONTAINER_NAMES.test(name)) return 'container';
  if (facts.wireless || facts.devtype === 'wlan') return 'wireless';
  if (facts.hardware) return 'physical';
  if (facts.hardware === false) return 'virtual'; // Linux told us: no device behind it
  if (VIRTUAL_NAMES.test(name)) return 'virtual';
  if (WIRELESS_NAMES.test(name)) return 'wireless';
  return 'physical'; // eth*, en*, "Ethernet"... and any name we do not know
}
