/**
 * A registry over TLS: etcds:// with the CA from DISCOVERY_REGISTRY_CA, and a client
 * certificate for etcd's --client-cert-auth from the object form. Certificates are made with
 * openssl for the test.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createResponder } from '../../src/index.js';
import { openRegistry } from '../../src/registry/adapter.js';
import { resolveRegistry } from '../../src/registry/config.js';
import { recordKey } from '../../src/registry/record.js';
import { startEtcd } from '../helpers/etcd.js';
import { recordingLogger } from '../helpers/logger.js';
import { requirePrerequisite } from '../helpers/prerequisite.js';

const OPENSSL = '/usr/bin/openssl';

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`. */
function makeCertificates(dir: string) {
  const ssl = (...args: string[]) => execFileSync(OPENSSL, args, { cwd: dir, stdio: 'pipe' });
  ssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '1',
    '-subj',
    '/CN=beckon test CA',
  );
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      `/CN=${name}`,
    );
    execFileSync('sh', ['-c', `printf '${ext}\\n' > ${name}.ext`], { cwd: dir });
    ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.pem`,
      '-days',
      '1',
      '-extfile',
      `${name}.ext`,
    );
  }
  return (file: string) => join(dir, file);
}

describe('a registry over TLS', () => {
  it('registers over etcds:// with the CA from the environment, and with a client certificate', async (t) => {
    if (!requirePrerequisite(t, existsSync(OPENSSL), `openssl (${OPENSSL})`)) return;
    const dir = await mkdtemp(join(tmpdir(), 'beckon-tls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const file = makeCertificates(dir);
    const etcd = await startEtcd(t, {
      tls: { certFile: file('server.pem'), keyFile: file('server.key'), clientCa: file('ca.pem') },
    });
    if (!etcd) return;
    assert.match(etcd.url, /^etcds:\/\//);
    const host = `127.0.0.1:${etcd.clientPort}`;
    // Without a client certificate etcd refuses the connection: a warning, no crash.
    const logger = recordingLogger();
    const refused = createResponder({
      port: 0,
      env: { DISCOVERY_REGISTRY: etcd.url, DISCOVERY_REGISTRY_CA: file('ca.pem') },
      joinGroups: false,
      logger,
      instanceId: 'no-client-cert',
      advertiseAddress: '192.0.2.80',
    });
    t.after(() => refused.stop());
    await refused.start();
    const deadline = Date.now() + 10_000;
    while (logger.warnings.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.match(logger.warnings[0] ?? '', /unreachable or refusing/);
    await refused.stop();

    const responder = createResponder({
      port: 0,
      env: { DISCOVERY_REGISTRY_CA: file('ca.pem') },
      joinGroups: false,
      registry: {
        url: etcd.url,
        tls: { ca: file('ca.pem'), cert: file('client.pem'), key: file('client.key') },
      },
      instanceId: 'tls',
      advertiseAddress: '192.0.2.81',
    });
    t.after(() => responder.stop());
    const registered = new Promise((resolve) =>
      responder.on('registry', ({ state }) => state === 'registered' && resolve(undefined)),
    );
    await responder.start();
    await registered;
    const settings = resolveRegistry(`etcds://${host}`, {
      DISCOVERY_REGISTRY_CA: file('ca.pem'),
      DISCOVERY_REGISTRY_CERT: file('client.pem'),
      DISCOVERY_REGISTRY_KEY: file('client.key'),
    });
    assert.ok(settings);
    const reader = await openRegistry(settings);
    t.after(() => reader.close());
    assert.equal((await reader.list(recordKey('beckon/', undefined, 'tls'))).length, 1);
  });
});
