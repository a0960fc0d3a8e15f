import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeRecord,
  encodeRecord,
  recordKey,
  servicesPrefix,
} from '../../src/registry/record.js';

const KEY = Buffer.from('0123456789abcdef0123456789abcdef');
const OTHER = Buffer.from('fedcba9876543210fedcba9876543210');
const record = {
  instanceId: 'a/b_c',
  service: 'api',
  scheme: 'http',
  port: 8080,
  addresses: ['192.168.1.5', 'fd00::5'],
  lease: 15000,
  values: { region: 'eu' },
};

describe('registry records', () => {
  it('lay keys out per service and instance, percent-encoded', () => {
    assert.equal(recordKey('beckon/', 'api', 'a/b_c'), 'beckon/services/api/a%2Fb%5Fc');
    assert.equal(recordKey('beckon/', undefined, 'x'), 'beckon/services/_/x');
    assert.equal(recordKey('beckon/', '_', 'x'), 'beckon/services/%5F/x');
    assert.ok(recordKey('p/', 'api', 'x').startsWith(servicesPrefix('p/', 'api')));
  });

  it('round-trip, unsigned and signed', () => {
    const key = recordKey('beckon/', 'api', 'a/b_c');
    const plain = decodeRecord(key, encodeRecord(key, record));
    assert.ok(plain.ok);
    assert.equal(plain.record.port, 8080);
    assert.equal(plain.verified, false);
    const signed = encodeRecord(key, record, KEY);
    const verified = decodeRecord(key, signed, { keys: [OTHER, KEY] });
    assert.ok(verified.ok && verified.verified);
    assert.ok(decodeRecord(key, signed).ok, 'a reader without keys ignores the signature');
  });

  it('are refused when unsigned, tampered, signed with another key, moved or malformed', () => {
    const key = recordKey('beckon/', 'api', 'a/b_c');
    const signed = encodeRecord(key, record, KEY);
    assert.equal(decodeRecord(key, encodeRecord(key, record), { keys: [KEY] }).ok, false);
    const unsigned = decodeRecord(key, encodeRecord(key, record), { keys: [KEY] });
    assert.ok(!unsigned.ok && unsigned.reason === 'unsigned');
    const tampered = signed.replace('192.168.1.5', '203.0.113.9');
    const bad = decodeRecord(key, tampered, { keys: [KEY] });
    assert.ok(!bad.ok && bad.reason === 'bad-signature');
    const other = decodeRecord(key, signed, { keys: [OTHER] });
    assert.ok(!other.ok && other.reason === 'bad-signature');
    const moved = decodeRecord(recordKey('beckon/', 'web', 'a/b_c'), signed, { keys: [KEY] });
    assert.ok(!moved.ok && moved.reason === 'malformed');
    const goneAdded = JSON.stringify({ ...JSON.parse(signed), gone: true });
    assert.equal(decodeRecord(key, goneAdded, { keys: [KEY] }).ok, false);
    for (const value of [
      '',
      '{',
      '[]',
      '{"v":2}',
      JSON.stringify({ ...record, v: 1, addresses: ['x'] }),
    ]) {
      const result = decodeRecord(key, value);
      assert.ok(!result.ok && result.reason === 'malformed', value);
    }
    const control = JSON.stringify({ ...record, v: 1, name: 'a\u001b[2J' });
    assert.equal(decodeRecord(key, control).ok, false);
  });
});
