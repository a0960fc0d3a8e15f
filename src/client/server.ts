/** What discovery reports about one server. */
import type { ServerMetadata } from '../protocol/extended.js';
import type { ServerAddress, Via } from './addresses.js';
import type { DiscoverSettings } from './options.js';

export type { ServerAddress, Via } from './addresses.js';

/**
 * A server that answered: one logical server, however many paths it answered on (docs/ipv6.md,
 * "One server, several addresses"). The fields below `addresses` describe the path of `ip`.
 */
export interface Server {
  /**
   * The address to reach it at: the first of `addresses`. IPv4 dotted decimal, or IPv6 in
   * RFC 5952 form, with the zone for a link-local one (`fe80::1%eth0`).
   */
  readonly ip: string;
  /** The family of `ip`. */
  readonly family: 'IPv4' | 'IPv6';
  /** Its HTTP port; 8000 when the reply had none, as in the original. */
  readonly port: number;
  /**
   * `<scheme>://host:port`: the scheme of an extended answer, else `http`; an IPv6 host is in
   * brackets, a zone written `%25` as RFC 6874 says (`http://[fe80::1%25eth0]:8080`), which
   * Node's `fetch` refuses: see docs/ipv6.md for what works.
   */
  readonly url: string;
  /**
   * Every address it answered from, best first: same prefix as a local interface (or
   * loopback), then other routable ones, then link-local; then the lowest RTT; then IPv4.
   */
  readonly addresses: readonly ServerAddress[];
  /** The reply packet's source address: the truth about who answered. */
  readonly source: string;
  /** The reply packet's source port. */
  readonly sourcePort: number;
  /**
   * The local interface the reply came in on: the one the request was broadcast on; for a
   * unicast target, the interface whose subnet holds the reply's source, else the one holding
   * the route to it (`lo` for loopback).
   */
  readonly interface: string | undefined;
  /** How `ip` was found: `broadcast`, `multicast`, `target`, `scan` or `registry`. */
  readonly via: Via;
  /** Milliseconds from the latest request sent on that path to this reply. */
  readonly rttMs: number;
  /** The reply as text (decrypted in Fernet mode); base64 of the datagram for extended answers. */
  readonly raw: string;
  /** The reply claimed an IP other than its source (kept only with `acceptForeignAddresses`). */
  readonly foreign: boolean;
  /** How it was asked: the original's request, a Fernet token, or beckon's extended request. */
  readonly protocol: DiscoverSettings['mode'];
  /** The reply proved that its sender holds the key (Fernet, or a signed extended answer). */
  readonly authenticated: boolean;
  /** What the server says about itself; extended answers only. */
  readonly metadata: ServerMetadata | undefined;
}

/**
 * Why a watched server went `down` (docs/presence.md): it said goodbye (on the LAN, or its
 * registry record's goodbye); its lease ran out (or, without a lease, it missed its polls; or its
 * registry record was deleted without a goodbye); the only interface it was seen through went
 * away; or (`verify`) its advertised URL stopped accepting connections. A server heard on the
 * LAN and in a registry goes `down` only when both lost it (docs/registry.md).
 */
export type DownReason = 'goodbye' | 'expired' | 'interface-lost' | 'unreachable';

/** What a watcher reports: a server came, changed (an address, its metadata), or went. */
export type WatchEvent =
  | { readonly type: 'up'; readonly server: Server }
  | { readonly type: 'update'; readonly server: Server }
  | { readonly type: 'down'; readonly server: Server; readonly reason: DownReason };
