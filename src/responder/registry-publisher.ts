/**
 * A responder's registration in the registry (docs/registry.md): its own service record, under
 * a lease the etcd client keeps alive, rewritten when the host's addresses change, with a
 * goodbye and a revoked lease when it stops. Each process registers the record it owns (a
 * process registered with its host's answering process registers its own record too). The
 * registry being unreachable is one warning per outage: answering on the LAN is not affected.
 */
import { BeckonError, RegistryError } from '../errors.js';
import { type Logger, logSafely } from '../logger.js';
import type { InterfaceCache } from '../network/interface-cache.js';
import type { NetworkInterface } from '../network/interfaces.js';
import type { IPv6InterfaceAddress } from '../network/interfaces6.js';
import { isLoopback, parseIPv4 } from '../network/ipv4.js';
import { classifyIPv6, parseIPv6 } from '../network/ipv6.js';
import {
  type HeldEntry,
  openRegistry,
  type RegistryConnection,
  type RegistryHolding,
  type RegistryState,
  registryReason,
} from '../registry/adapter.js';
import { leaseSeconds, type RegistrySettings } from '../registry/config.js';
import { encodeRecord, MAX_RECORD_ADDRESSES, recordKey } from '../registry/record.js';
import type { ResponderSettings } from './options.js';
import type { Service } from './services.js';

/**
 * `off` (not started, or no registry), `connecting` (opening, first write pending),
 * `registered` (the record is in the registry), `unreachable` (retrying), `stopped`.
 */
export type PublisherState = 'off' | 'connecting' | 'registered' | 'unreachable' | 'stopped';

/** What the publisher needs from its responder. */
export interface PublisherContext {
  readonly registry: RegistrySettings;
  readonly settings: ResponderSettings;
  /** The key records are signed with (the first of `authKeys`), if any. */
  readonly signingKey: Uint8Array | undefined;
  readonly interfaces: InterfaceCache<NetworkInterface>;
  readonly interfaces6: InterfaceCache<IPv6InterfaceAddress>;
  readonly logger: Logger;
  warn(error: BeckonError): void;
  /** Each state change (for the responder's `registry` event). */
  changed(state: PublisherState): void;
}

/** Registers one service record in the registry while started. */
export class RegistryPublisher {
  readonly #context: PublisherContext;
  readonly #own: Service;
  readonly #key: string;
  readonly #ttl: number;
  #state: PublisherState = 'off';
  #opening: Promise<RegistryConnection | undefined> | undefined;
  #connection: RegistryConnection | undefined;
  #holding: RegistryHolding | undefined;
  #addresses = '';
  #poll: NodeJS.Timeout | undefined;
  #warnedEmpty = false;

  constructor(context: PublisherContext, own: Service) {
    this.#context = context;
    this.#own = own;
    const { registry, settings } = context;
    this.#key = recordKey(registry.prefix, own.metadata.service, own.metadata.instanceId);
    this.#ttl = leaseSeconds(registry.lease ?? settings.lease);
  }

  /** The etcd key of the record. */
  get key(): string {
    return this.#key;
  }

  get state(): PublisherState {
    return this.#state;
  }

  /** Starts registering; returns at once (the registry is reached in the background). */
  start(): void {
    if (this.#state !== 'off' && this.#state !== 'stopped') return;
    this.#set('connecting');
    const opening = openRegistry(this.#context.registry).then(
      (connection) => connection,
      (error: unknown) => {
        try {
          this.#context.warn(
            error instanceof BeckonError
              ? error
              : new RegistryError(`Cannot open the registry: ${String(error)}`, error),
          );
        } catch (thrown) {
          // A warning listener threw: stop() awaits this promise and must not reject.
          this.#unexpected('warning about', thrown);
        }
        return undefined;
      },
    );
    this.#opening = opening;
    void opening
      .then((connection) => this.#opened(opening, connection))
      // A throw here (a listener of the state event) must not be an unhandled rejection.
      .catch((error: unknown) => this.#unexpected('registering', error));
  }

  #opened(
    opening: Promise<RegistryConnection | undefined>,
    connection: RegistryConnection | undefined,
  ): void {
    if (!connection) {
      if (this.#opening === opening) this.#set('off');
      return;
    }
    if (this.#opening !== opening) {
      void connection.close(); // stopped meanwhile
      return;
    }
    this.#connection = connection;
    this.#hold(this.#entries());
    // interfacePollInterval 0: the interfaces are read at start only, for the groups too.
    const every = this.#context.settings.interfacePollInterval;
    if (every > 0) this.#poll = setInterval(() => this.#checkAddresses(), every).unref();
  }

  /**
   * Holds `entries` under a lease of their own. None (no routable address yet): nothing is
   * held, and the state stays `connecting` rather than claim a registration that is not there.
   */
  #hold(entries: HeldEntry[]): void {
    const connection = this.#connection;
    if (!connection || entries.length === 0) return;
    this.#holding = connection.hold(entries, {
      ttlSeconds: this.#ttl,
      state: (state, error) => this.#onState(state, error),
    });
  }

  /** What a timer or a promise callback threw (user code: the logger): logged, never thrown. */
  #unexpected(doing: string, error: unknown): void {
    logSafely(
      this.#context.logger,
      'warn',
      `Unexpected error ${doing} ${this.#key}: ${String(error)}`,
    );
  }

  /** Goodbye and lease revoked (bounded), connection closed. */
  async stop(): Promise<void> {
    const opening = this.#opening;
    if (!opening) return;
    this.#opening = undefined;
    clearInterval(this.#poll);
    this.#poll = undefined;
    this.#connection = undefined;
    const connection = await opening;
    const holding = this.#holding;
    this.#holding = undefined;
    await holding?.release();
    await connection?.close();
    if (this.#state !== 'off') this.#set('stopped');
  }

  #onState(state: RegistryState, error: RegistryError | undefined): void {
    const { registry, logger } = this.#context;
    if (!this.#holding) return;
    if (state === 'lost') {
      this.#set('unreachable');
      this.#context.warn(
        new RegistryError(
          `Registry ${registry.display} unreachable or refusing: ${registryReason(error)}. Answering on the LAN goes on, and ${this.#key} is registered as soon as the registry takes it`,
          error,
        ),
      );
      return;
    }
    this.#set('registered');
    logger.info(
      state === 'connected'
        ? `Registered ${this.#key} at ${registry.display} (lease ${this.#ttl} s)`
        : `Registry ${registry.display} is back: ${this.#key} registered again`,
    );
  }

  /** Timer-driven: never throws. */
  #checkAddresses(): void {
    if (!this.#connection) return;
    try {
      const before = this.#addresses;
      const entries = this.#entries();
      if (this.#addresses === before) return;
      if (this.#holding && entries.length === 0) {
        // Every routable address went: say goodbye and hold nothing until one comes back.
        const holding = this.#holding;
        this.#holding = undefined;
        void holding.release().catch((error: unknown) => this.#unexpected('releasing', error));
        this.#set('connecting');
      } else if (this.#holding) this.#holding.update(entries);
      else this.#hold(entries);
      logSafely(
        this.#context.logger,
        'debug',
        `Addresses changed: updating ${this.#key} in the registry`,
      );
    } catch (error) {
      this.#unexpected('updating', error);
    }
  }

  /** The record (and its goodbye) for the addresses now. */
  #entries(): HeldEntry[] {
    const addresses = registryAddresses(this.#own, this.#context);
    this.#addresses = addresses.join(' ');
    if (addresses.length === 0) {
      if (!this.#warnedEmpty) {
        this.#warnedEmpty = true;
        this.#context.warn(
          new RegistryError(
            `Not registering ${this.#key}: this host has no routable address (only loopback or link-local); set advertiseAddress (--advertise-address) to register one`,
          ),
        );
      }
      return [];
    }
    const { metadata } = this.#own;
    const values = Object.keys(metadata.values).length > 0 ? metadata.values : undefined;
    const record = {
      instanceId: metadata.instanceId,
      service: metadata.service,
      name: metadata.name,
      version: metadata.version,
      scheme: metadata.scheme ?? 'http',
      port: this.#own.httpPort,
      addresses,
      lease: this.#ttl * 1000,
      values,
    };
    const key = this.#context.signingKey;
    return [
      {
        key: this.#key,
        value: encodeRecord(this.#key, record, key),
        goodbye: encodeRecord(this.#key, { ...record, gone: true }, key),
      },
    ];
  }

  #set(state: PublisherState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#context.changed(state);
  }
}

/**
 * Where `service` is reached, for its record: its fixed address (`advertiseAddress`, or a
 * unicast bind address) as given, its `serviceAddress` unless loopback, or else every address
 * of this host's interfaces that are up, except loopback, link-local and container bridges
 * (IPv6: global and unique-local), sorted.
 */
function registryAddresses(
  service: Service,
  sources: {
    readonly interfaces: InterfaceCache<NetworkInterface>;
    readonly interfaces6: InterfaceCache<IPv6InterfaceAddress>;
  },
): string[] {
  if (service.fixedAddress !== undefined) return [service.fixedAddress];
  if (service.serviceAddress !== undefined) {
    return isRoutable(service.serviceAddress) ? [service.serviceAddress] : [];
  }
  const ipv4 = sources.interfaces
    .get()
    // A container bridge's address (docker0's 172.17.0.1) is reachable from this host only,
    // and a client elsewhere would reach its own host's bridge there.
    .filter((i) => i.up && !i.loopback && !i.linkLocal && i.class !== 'container')
    .map((i) => i.address);
  const ipv6 = sources.interfaces6
    .get()
    .filter((a) => a.kind === 'global' || a.kind === 'unique-local')
    .map((a) => a.address);
  return [...new Set([...ipv4.sort(), ...ipv6.sort()])].slice(0, MAX_RECORD_ADDRESSES);
}

function isRoutable(address: string): boolean {
  const ip = parseIPv4(address);
  if (ip !== undefined) return !isLoopback(ip) && ip >>> 16 !== 0xa9fe;
  const parsed = parseIPv6(address);
  if (!parsed) return false;
  const kind = classifyIPv6(parsed.value);
  return kind === 'global' || kind === 'unique-local';
}
