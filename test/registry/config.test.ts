import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InvalidOptionError } from '../../src/errors.js';
import { resolveRegistry } from '../../src/registry/config.js';

const invalid = (option: string, value?: RegExp) => (error: unknown) => {
  assert.ok(error instanceof InvalidOptionError, String(error));
  assert.equal(error.option, option);
  if (value) assert.match(error.message, value);
  return true;
};

describe('the registry option', () => {
  it('is off unless set', () => {
    assert.equal(resolveRegistry(undefined, {}), undefined);
  });

  it('reads URLs: hosts, default port, credentials, prefix, TLS scheme', () => {
    const one = resolveRegistry('etcd://127.0.0.1:2379', {});
    assert.deepEqual(one?.endpoints, ['127.0.0.1:2379']);
    assert.equal(one?.prefix, 'beckon/');
    assert.equal(one?.secure, false);
    const many = resolveRegistry('etcds://alice:p%40ss@etcd1,etcd2:2380,[::1]:4000/team/a', {});
    assert.deepEqual(many?.endpoints, ['etcd1:2379', 'etcd2:2380', '[::1]:4000']);
    assert.equal(many?.username, 'alice');
    assert.equal(many?.password, 'p@ss');
    assert.equal(many?.secure, true);
    assert.equal(many?.prefix, 'team/a/');
    assert.equal(many?.display, 'etcds://alice@etcd1:2379,etcd2:2380,[::1]:4000/team/a/');
  });

  it('reads DISCOVERY_REGISTRY, and client names first when given', () => {
    assert.deepEqual(resolveRegistry(undefined, { DISCOVERY_REGISTRY: 'etcd://h:1' })?.endpoints, [
      'h:1',
    ]);
    const env = { DISCOVERY_REGISTRY: 'etcd://h:1', DISCOVERY_CLIENT_REGISTRY: 'etcd://c:2' };
    assert.deepEqual(
      resolveRegistry(undefined, env, {
        envNames: ['DISCOVERY_CLIENT_REGISTRY', 'DISCOVERY_REGISTRY'],
      })?.endpoints,
      ['c:2'],
    );
  });

  it('refuses bad URLs naming the option, the value (without password) and what is allowed', () => {
    assert.throws(
      () => resolveRegistry('http://h:2379', {}),
      invalid('registry', /etcd:\/\/host:port/),
    );
    assert.throws(() => resolveRegistry('etcd://h:99999', {}), invalid('registry'));
    assert.throws(() => resolveRegistry('etcd://', {}), invalid('registry'));
    assert.throws(
      () => resolveRegistry('etcd://u:secret@h:1:2', {}),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionError);
        assert.doesNotMatch(error.message, /secret/);
        assert.match(error.message, /u:\*\*\*@/);
        return true;
      },
    );
    assert.throws(
      () => resolveRegistry('nope', {}, { option: '--registry' }),
      invalid('--registry'),
    );
    assert.throws(
      () => resolveRegistry(undefined, { DISCOVERY_REGISTRY: 'x' }),
      invalid('DISCOVERY_REGISTRY'),
    );
    assert.throws(() => resolveRegistry(42, {}), invalid('registry'));
  });

  it('reads the object form and refuses what it does not know', () => {
    const settings = resolveRegistry(
      { endpoints: ['a:1', 'b'], username: 'u', password: 'p', prefix: 'x', lease: 5000 },
      {},
    );
    assert.deepEqual(settings?.endpoints, ['a:1', 'b:2379']);
    assert.equal(settings?.prefix, 'x/');
    assert.equal(settings?.lease, 5000);
    assert.throws(
      () => resolveRegistry({ url: 'etcd://a', endpoints: ['b'] }, {}),
      invalid('registry'),
    );
    assert.throws(
      () => resolveRegistry({ url: 'etcd://a', lease: 1500 }, {}),
      invalid('registry.lease'),
    );
    assert.throws(
      () => resolveRegistry({ url: 'etcd://a', hosts: [] }, {}),
      invalid('registry.hosts'),
    );
    assert.throws(
      () => resolveRegistry({ url: 'etcd://a', password: 'p' }, {}),
      invalid('registry.username'),
    );
    assert.throws(() => resolveRegistry({ endpoints: [] }, {}), invalid('registry.endpoints'));
    assert.throws(
      () => resolveRegistry({ url: 'etcd://a', tls: { ca: '/no/such/file' } }, {}),
      invalid('registry.tls.ca', /ENOENT/),
    );
  });

  it('reads TLS files from the object or the environment', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'beckon-tls-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const ca = join(dir, 'ca.pem');
    await writeFile(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const fromObject = resolveRegistry({ url: 'etcd://a', tls: { ca } }, {});
    assert.equal(fromObject?.secure, true);
    assert.match(String(fromObject?.tls?.ca), /BEGIN CERTIFICATE/);
    const fromEnv = resolveRegistry('etcd://a', { DISCOVERY_REGISTRY_CA: ca });
    assert.equal(fromEnv?.secure, true);
    assert.ok(fromEnv?.tls?.ca);
    assert.throws(
      () => resolveRegistry('etcd://a', { DISCOVERY_REGISTRY_CERT: ca }),
      invalid('DISCOVERY_REGISTRY_KEY'),
    );
  });

  it('never shows PEM text (a private key) in its messages', () => {
    const key = '-----BEGIN PRIVATE KEY-----\nMIIsecret\n-----END PRIVATE KEY-----\n';
    const hidden = (error: unknown) => {
      assert.ok(error instanceof InvalidOptionError, String(error));
      assert.doesNotMatch(error.message, /MIIsecret|PRIVATE KEY/);
      assert.doesNotMatch(String(error.value), /MIIsecret/);
      return true;
    };
    assert.throws(
      () => resolveRegistry({ url: 'etcd://a', endpoints: ['b:1'], tls: { key, cert: key } }, {}),
      hidden,
    );
    assert.throws(() => resolveRegistry({ url: 'etcd://a', tls: key as never }, {}), hidden);
    assert.throws(
      () => resolveRegistry({ url: 'etcd://a', tls: 'yes' as never }, {}),
      invalid('registry.tls', /yes/),
    );
  });
});
