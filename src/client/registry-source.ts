/**
 * The client's view of a configured registry (docs/registry.md): the registry core's connection
 * (src/registry/adapter.ts, which loads the engine's client package only when opened) narrowed to
 * the records of the run's service, and each record decoded and checked as the LAN checks an
 * answer (with a key: signed with it).
 */
import { DEFAULT_HTTP_PORT } from '../protocol/plain.js';
import { openRegistry } from '../registry/adapter.js';
import type { RegistrySettings } from '../registry/config.js';
import { decodeRecord, servicesPrefix } from '../registry/record.js';
import type { DecodedRecord, RegistryFeed, RegistrySource } from './registry-path.js';

/**
 * The registry source of a run: its records (of `service` only, when set), believed only when
 * signed with `authKey` when there is one.
 */
export function registrySource(
  settings: RegistrySettings,
  authKey: Uint8Array | undefined,
  service: string | undefined,
): RegistrySource {
  const prefix = servicesPrefix(settings.prefix, service);
  const keys = authKey ? [authKey] : [];
  return {
    open: async (): Promise<RegistryFeed> => {
      const connection = await openRegistry(settings);
      return {
        endpoint: connection.display,
        list: (timeoutMs) => connection.list(prefix, { timeoutMs }),
        follow: (events) => {
          connection.watch(prefix, {
            sync: (entries) => events.sync(entries),
            put: (entry) => events.put(entry),
            delete: (key) => events.delete(key),
            state: (state, error) => {
              if (state === 'lost') events.lost(error);
              else if (state === 'restored') events.restored();
            },
          });
        },
        close: () => connection.close(),
      };
    },
    decode: (key, value): DecodedRecord => {
      const decoded = decodeRecord(key, value, { keys });
      if (!decoded.ok) return { drop: `${decoded.reason} (${decoded.detail})` };
      const { record } = decoded;
      return {
        record: {
          // In the order a LAN answer's metadata has, so that the two compare equal.
          metadata: {
            instanceId: record.instanceId,
            name: record.name,
            service: record.service,
            scheme: record.scheme,
            version: record.version,
            values: Object.freeze({ ...(record.values ?? {}) }),
          },
          addresses: record.addresses,
          port: record.port ?? DEFAULT_HTTP_PORT,
          lease: record.lease,
          goodbye: record.gone === true,
        },
      };
    },
  };
}
