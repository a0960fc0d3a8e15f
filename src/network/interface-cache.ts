import type { InterfaceProvider, NetworkInterface } from './interfaces.js';

/**
 * The interface list, re-read at most once per `maxAgeMs`. Listing interfaces costs a system
 * call (about 30 us), too much per datagram under load; a short age still follows DHCP
 * renewals, roaming and new interfaces within a fraction of a second.
 */
export class InterfaceCache {
  #list: readonly NetworkInterface[] = [];
  #readAt = Number.NEGATIVE_INFINITY;
  readonly #provider: InterfaceProvider;
  readonly #maxAgeMs: number;

  constructor(provider: InterfaceProvider, maxAgeMs: number) {
    this.#provider = provider;
    this.#maxAgeMs = maxAgeMs;
  }

  /** The current list, re-read when older than the maximum age. */
  get(now = performance.now()): readonly NetworkInterface[] {
    if (now - this.#readAt >= this.#maxAgeMs) {
      this.#list = this.#provider();
      this.#readAt = now;
    }
    return this.#list;
  }
}
