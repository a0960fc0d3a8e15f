/**
 * The services a responder answers for: its own and, when it answers for its host, each record
 * registered over the host channel (docs/many-services.md). Pure conversions, no I/O.
 */
import type { HostRecord } from '../host/records.js';
import { knownId, type ServerMetadata } from '../protocol/extended.js';
import type { ResponderSettings } from './options.js';
import type { ResponderSecrets } from './protocol.js';
import type { OffLinkPolicy } from './sender-policy.js';

/** One service as the answering code sees it. */
export interface Service {
  readonly metadata: ServerMetadata;
  readonly httpPort: number | undefined;
  /**
   * Shared keys; none: an open service, which answers plain and unsigned requests (unless it is
   * `delegated`).
   */
  readonly keys: readonly Uint8Array[];
  /**
   * A keyed service of another process: its keys stay there, so it answers only signed requests,
   * each checked and signed by its own process over the host channel.
   */
  readonly delegated: boolean;
  /** The one address the service listens on, if it is limited to one. */
  readonly serviceAddress: string | undefined;
  /**
   * Advertised to every IPv4 requester instead of the address on its path: `advertiseAddress`,
   * or the unicast address the answering socket is bound to.
   */
  readonly fixedAddress: string | undefined;
  /** Whether `fixedAddress` is the user's word (`advertiseAddress`): then never second-guessed. */
  readonly advertised: boolean;
  /** Equal for services that get the same address for every requester (a cache key). */
  readonly addressKey: string;
  /** Its known-answer id in hex (docs/presence.md): a watcher that lists it hears nothing. */
  readonly knownId: string;
  /**
   * `'none'`: never answered to a private off-link sender, even when the answering process
   * answers them (the service's own `offLink`).
   */
  readonly offLink: OffLinkPolicy;
}

/** The record a responder registers with its host's answering process. */
export function recordOf(
  settings: ResponderSettings,
  secrets: ResponderSecrets,
  pid: number,
): HostRecord {
  const { metadata } = settings;
  const values = Object.keys(metadata.values).length > 0 ? { values: metadata.values } : {};
  const fixed =
    settings.advertiseAddress ??
    (settings.bindAddress !== '0.0.0.0' ? settings.bindAddress : undefined);
  return {
    instanceId: metadata.instanceId,
    ...defined('service', metadata.service),
    ...defined('name', metadata.name),
    ...defined('scheme', metadata.scheme),
    ...defined('version', metadata.version),
    ...values,
    ...defined('httpPort', settings.httpPort),
    ...defined('serviceAddress', settings.serviceAddress),
    ...defined('advertiseAddress', fixed),
    ...(secrets.authKeys.length > 0 ? { keyed: true as const } : {}),
    ...(settings.offLink === 'none' ? { offLink: 'none' as const } : {}),
    pid,
  };
}

/** The service a record stands for. */
export function serviceOf(record: HostRecord): Service {
  const fixedAddress = record.advertiseAddress;
  const serviceAddress = record.serviceAddress;
  return {
    metadata: {
      instanceId: record.instanceId,
      name: record.name,
      service: record.service,
      scheme: record.scheme ?? 'http',
      version: record.version,
      values: record.values ?? {},
    },
    httpPort: record.httpPort,
    keys: [],
    delegated: record.keyed === true,
    serviceAddress,
    fixedAddress,
    advertised: fixedAddress !== undefined,
    addressKey: `${fixedAddress ?? ''}/${serviceAddress ?? ''}`,
    knownId: knownId(record.instanceId).toString('hex'),
    offLink: record.offLink ?? 'private',
  };
}

/**
 * The responder's own service. A unicast bind address is advertised like `advertiseAddress`,
 * but is not the user's word for where the service is reached.
 */
export function ownService(settings: ResponderSettings, secrets: ResponderSecrets): Service {
  const service = serviceOf(recordOf(settings, secrets, process.pid));
  return {
    ...service,
    keys: secrets.authKeys,
    delegated: false,
    advertised: settings.advertiseAddress !== undefined,
  };
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Whether `service` can be reached at `address`: always, unless it listens on one address
 * only. A configured `advertiseAddress` is the user's word for where it is reached (a proxy,
 * a NAT), so it is not second-guessed.
 */
export function serves(service: Service, address: string): boolean {
  const only = service.serviceAddress;
  return only === undefined || only === address || service.advertised;
}
