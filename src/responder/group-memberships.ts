/**
 * The responder's multicast group memberships (docs/ipv6.md, "Multicast groups"): which
 * interfaces to join beckon's groups on, and the bookkeeping that joins new interfaces and
 * leaves vanished ones each time the interface list is polled. No timers here: the responder
 * owns the poll.
 */
import type { Socket } from 'node:dgram';
import { SocketError } from '../errors.js';
import type { NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import { membershipInterface6 } from '../network/multicast.js';

/** One interface to be a member on: its name, and the `multicastInterface` argument for it. */
export interface MembershipTarget {
  /** Interface name: one membership per interface. */
  readonly name: string;
  /** An IPv4 address of the interface (IPv4 socket), or `::%<name>` (IPv6 socket). */
  readonly via: string;
}

/**
 * Where the IPv4 socket joins the IPv4 group: every non-loopback interface, through its first
 * IPv4 address (the kernel's membership is per interface; the address only names it).
 */
export function groupTargets4(interfaces: readonly NetworkInterface[]): MembershipTarget[] {
  const byName = new Map<string, MembershipTarget>();
  for (const iface of interfaces) {
    if (iface.loopback || !iface.up || byName.has(iface.name)) continue;
    byName.set(iface.name, { name: iface.name, via: iface.address });
  }
  return [...byName.values()];
}

/**
 * Where the IPv6 socket joins the IPv6 group: every interface with a link-local address (IPv6
 * is up on it and it is not loopback), named by its zone, `::%eth0`.
 */
export function groupTargets6(interfaces: readonly IPv6InterfaceAddress[]): MembershipTarget[] {
  const byName = new Map<string, MembershipTarget>();
  for (const iface of interfaces) {
    if (iface.kind !== 'link-local' || byName.has(iface.name)) continue;
    const via = membershipInterface6(iface.name);
    if (via !== undefined) byName.set(iface.name, { name: iface.name, via });
  }
  return [...byName.values()];
}

/** Where membership news goes: joins and leaves are debug lines, a failed join a warning. */
export interface MembershipReport {
  debug(message: string): void;
  warn(error: SocketError): void;
}

/**
 * The memberships of one socket in one group. {@link update} joins every target (again: a join
 * that answers EADDRINUSE is already in place, and one that succeeds covers an interface that
 * was deleted and re-created between two polls) and leaves the interfaces no longer targeted.
 * Never throws: a join that fails is warned about once per interface and error code, and
 * retried at the next update.
 */
export class GroupMemberships {
  // Interface name -> the `multicastInterface` its membership was made with.
  readonly #joined = new Map<string, string>();
  readonly #warned = new Set<string>();
  readonly #socket: Pick<Socket, 'addMembership' | 'dropMembership'>;
  readonly #group: string;
  readonly #report: MembershipReport;

  constructor(
    socket: Pick<Socket, 'addMembership' | 'dropMembership'>,
    group: string,
    report: MembershipReport,
  ) {
    this.#socket = socket;
    this.#group = group;
    this.#report = report;
  }

  /** The interfaces this socket is a member on, sorted. */
  get interfaces(): string[] {
    return [...this.#joined.keys()].sort();
  }

  /**
   * Joins `targets` and leaves the others. `leavable(name)` says whether an interface that is
   * no longer targeted can still be named: an IPv6 interface that was deleted cannot, since
   * libuv turns an unknown zone into interface 0, and the kernel then leaves the group on
   * whichever interface joined last. The kernel already dropped a deleted interface's
   * membership, so it is just forgotten.
   */
  update(targets: readonly MembershipTarget[], leavable: (name: string) => boolean = () => true) {
    const wanted = new Set(targets.map((target) => target.name));
    for (const [name, via] of this.#joined) {
      if (wanted.has(name)) continue;
      this.#joined.delete(name);
      if (!leavable(name)) {
        this.#report.debug(`Interface ${name} is gone: forgot group ${this.#group} on it`);
        continue;
      }
      try {
        this.#socket.dropMembership(this.#group, via);
        this.#report.debug(`Left group ${this.#group} on ${name}`);
      } catch (error) {
        // The interface or its address went away with the membership.
        this.#report.debug(`Leaving group ${this.#group} on ${name}: ${String(error)}`);
      }
    }
    for (const target of targets) this.#join(target);
  }

  #join({ name, via }: MembershipTarget): void {
    try {
      this.#socket.addMembership(this.#group, via);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
      if (code !== 'EADDRINUSE') {
        this.#failed(name, code, error);
        return;
      }
      // Already a member there: made by an earlier update (or before a poll noticed a change).
    }
    if (!this.#joined.has(name)) {
      this.#joined.set(name, via);
      this.#report.debug(`Joined group ${this.#group} on ${name}`);
    }
  }

  #failed(name: string, code: string, error: unknown): void {
    const key = `${name} ${code}`;
    const message = `Could not join group ${this.#group} on ${name} (${code}); requests sent to the group there get no answer`;
    if (this.#warned.has(key)) {
      this.#report.debug(message);
      return;
    }
    this.#warned.add(key);
    this.#report.warn(new SocketError(message, error));
  }
}
