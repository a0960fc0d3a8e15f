/**
 * Registry records written straight into a test etcd (test/helpers/etcd.ts), as a responder
 * would write them, so that a client test can put, change, say goodbye, delete and expire
 * records exactly when it wants.
 */
import type { TestContext } from 'node:test';
import { Etcd3, type Lease } from 'etcd3';
import { DEFAULT_REGISTRY_PREFIX } from '../../src/registry/config.js';
import { encodeRecord, type RegistryRecord, recordKey } from '../../src/registry/record.js';
import type { TestEtcd } from './etcd.js';

/** What a test gives of a record: the rest has defaults. */
export type TestRecord = Partial<Omit<RegistryRecord, 'v' | 'sig'>> & { instanceId: string };

/** A record in etcd under a lease of its own (kept alive until revoked or released). */
export interface PutRecord {
  readonly key: string;
  readonly lease: Lease;
  /** Writes the record again, changed. */
  change(changes: Partial<TestRecord>): Promise<void>;
  /** The responder's graceful stop: the goodbye marker, then the lease revoked. */
  goodbye(): Promise<void>;
  /** Revokes the lease without a marker (the key is deleted at once). */
  revoke(): Promise<void>;
}

/** An etcd client for the test, closed after it. */
export function recordWriter(t: TestContext, etcd: TestEtcd, prefix = DEFAULT_REGISTRY_PREFIX) {
  const client = new Etcd3({ hosts: `http://${etcd.host}:${etcd.clientPort}` });
  const leases: Lease[] = [];
  t.after(() => {
    for (const lease of leases) lease.release(); // its keepalive timer would hold the process
    client.close();
  });
  return {
    client,
    /** Puts `record` under a new lease of `ttlSeconds`, signed with `signingKey` if given. */
    async put(
      record: TestRecord,
      options: { ttlSeconds?: number; signingKey?: Uint8Array } = {},
    ): Promise<PutRecord> {
      const ttlSeconds = options.ttlSeconds ?? 5;
      let current: Omit<RegistryRecord, 'v' | 'sig'> = {
        scheme: 'http',
        port: 8080,
        addresses: ['127.0.0.1'],
        lease: ttlSeconds * 1000,
        ...record,
      };
      const key = recordKey(prefix, current.service, current.instanceId);
      const lease = client.lease(ttlSeconds);
      leases.push(lease);
      lease.on('lost', () => {}); // an etcd stopped on purpose
      await lease
        .put(key)
        .value(encodeRecord(key, current, options.signingKey))
        .exec();
      return {
        key,
        lease,
        change: async (changes) => {
          current = { ...current, ...changes };
          await lease
            .put(key)
            .value(encodeRecord(key, current, options.signingKey))
            .exec();
        },
        goodbye: async () => {
          const marker = encodeRecord(key, { ...current, gone: true }, options.signingKey);
          await lease.put(key).value(marker).exec();
          await lease.revoke();
        },
        revoke: () => lease.revoke(),
      };
    },
    /** Puts a raw value under `key`, without a lease. */
    async raw(key: string, value: string): Promise<void> {
      await client.put(key).value(value).exec();
    },
  };
}
