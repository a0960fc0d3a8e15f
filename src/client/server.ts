/** What discovery reports about one server. */
import type { ServerMetadata } from '../protocol/extended.js';
import type { DiscoverSettings } from './options.js';

/** A server that answered. */
export interface Server {
  /** The server's IPv4 address (canonical dotted decimal). */
  readonly ip: string;
  /** Its HTTP port; 8000 when the reply had none, as in the original. */
  readonly port: number;
  /** `<scheme>://ip:port`: the scheme of an extended answer, else `http`. */
  readonly url: string;
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
