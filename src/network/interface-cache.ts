import type { NetworkInterface } from './interfaces.js';

/**
 * The interface list, re-read at most once per `maxAgeMs`. Listing interfaces costs a system
 * call (about 30 us), too much per datagram under load; a short age still follows DHCP
 * renewals, roaming and new interfaces within a fraction of a second. `T`: an IPv4 interface,
 * or an IPv6 address entry for the IPv6 socket.
 */
export class InterfaceCache<T = NetworkInterface> {
  #list: readonly T[] = [];
  #readAt = Number.NEGATIVE_INFINITY;
  readonly #provider: () => readonly T[];
  readonly #maxAgeMs: number;

  constructor(provider: () => readonly T[], maxAgeMs: number) {
    this.#provider = provider;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The current list, re-read when older than the maximum age. */
  get(now = performance.now()): readonly T[] {
    if (now - this.#readAt >= this.#maxAgeMs) {
      this.#list = this.#provider();
      this.#readAt = now;
    }
    return this.#list;
  }
}
