/**
 * `beckon doctor`'s registry check (docs/registry.md): can the configured registry be read,
 * and how many beckon records does it hold. Reads only.
 */
import { openRegistry } from '../registry/adapter.js';
import type { RegistrySettings } from '../registry/config.js';
import { decodeRecord, servicesPrefix } from '../registry/record.js';

/** What the registry check found. */
export interface RegistryReport {
  /** The registry, as it may be shown (no password). */
  readonly url: string;
  /** Whether it answered a read of beckon's records. */
  readonly reachable: boolean;
  /** Milliseconds the read took; undefined when it failed. */
  readonly readMs: number | undefined;
  /** Valid service records (goodbyes left out); undefined when unreachable. */
  readonly records: number | undefined;
  /** Keys under the prefix whose value is not a valid record. */
  readonly invalid: number | undefined;
  /** Records per service name (`null`: without a service). */
  readonly services: readonly { readonly service: string | null; readonly records: number }[];
  /** Why it could not be read. */
  readonly error: string | undefined;
}

/** Reads the registry's records within `timeoutMs`; never throws. */
export async function checkRegistry(
  settings: RegistrySettings,
  options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {},
): Promise<RegistryReport> {
  const failed = (error: unknown): RegistryReport => ({
    url: settings.display,
    reachable: false,
    readMs: undefined,
    records: undefined,
    invalid: undefined,
    services: [],
    error: error instanceof Error ? error.message : String(error),
  });
  let connection: Awaited<ReturnType<typeof openRegistry>>;
  try {
    connection = await openRegistry(settings);
  } catch (error) {
    return failed(error);
  }
  try {
    const started = performance.now();
    const entries = await connection.list(servicesPrefix(settings.prefix), {
      timeoutMs: options.timeoutMs ?? 3000,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const readMs = performance.now() - started;
    const counts = new Map<string | null, number>();
    let invalid = 0;
    let records = 0;
    for (const { key, value } of entries) {
      const decoded = decodeRecord(key, value);
      if (!decoded.ok) invalid++;
      else if (!decoded.record.gone) {
        records++;
        const service = decoded.record.service ?? null;
        counts.set(service, (counts.get(service) ?? 0) + 1);
      }
    }
    return {
      url: settings.display,
      reachable: true,
      readMs,
      records,
      invalid,
      services: [...counts].map(([service, n]) => ({ service, records: n })),
      error: undefined,
    };
  } catch (error) {
    return failed(error);
  } finally {
    await connection.close();
  }
}
