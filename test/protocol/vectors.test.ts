/** Checks the test vectors of docs/protocol.md against the encoders and decoders. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  decodeAnswer,
  decodeRequest,
  encodeAnswer,
  encodeRequest,
  verifyTag,
} from '../../src/protocol/extended.js';
import { decodeFernetKey, decryptFernet, encryptFernet } from '../../src/protocol/fernet.js';

interface Vector {
  readonly kind: string;
  readonly fields: Map<string, string[]>;
  readonly datagram: Buffer | undefined;
}

/** The fenced `vector <kind>` blocks of the page: `name: value` lines, then the datagram's hex. */
function readVectors(): Vector[] {
  const page = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');
  return [...page.matchAll(/```vector (\w+)\n([\s\S]*?)```/g)].map(([, kind = '', body = '']) => {
    const [head = '', hex] = body.split('datagram:\n');
    const fields = new Map<string, string[]>();
    for (const line of head.trim().split('\n')) {
      const at = line.indexOf(': ');
      const name = line.slice(0, at);
      fields.set(name, [...(fields.get(name) ?? []), line.slice(at + 2)]);
    }
    return {
      kind,
      fields,
      datagram: hex === undefined ? undefined : Buffer.from(hex.replace(/\s/g, ''), 'hex'),
    };
  });
}

const vectors = readVectors();
const one = (v: Vector, name: string) => v.fields.get(name)?.[0];
const required = (v: Vector, name: string) => {
  const value = one(v, name);
  assert.ok(value !== undefined, `vector field ${name}`);
  return value;
};
const keyOf = (v: Vector) => {
  const key = one(v, 'key');
  return key === undefined ? undefined : Buffer.from(key);
};

describe('docs/protocol.md test vectors', () => {
  it('has one Fernet vector, two requests and two answers (IPv4 signed, IPv6 unsigned)', () => {
    assert.deepEqual(
      vectors.map((v) => v.kind),
      ['fernet', 'request', 'request', 'answer', 'answer'],
    );
  });

  for (const v of vectors.filter((x) => x.kind === 'fernet')) {
    it('Fernet: encrypting gives the token, and the token decrypts', () => {
      const key = decodeFernetKey(required(v, 'key'));
      assert.ok(typeof key !== 'string');
      const token = encryptFernet(
        key,
        Buffer.from(required(v, 'plaintext')),
        Number(required(v, 'seconds')),
        Buffer.from(required(v, 'iv'), 'hex'),
      );
      assert.equal(String(token), required(v, 'token'));
      const message = decryptFernet(key, Buffer.from(required(v, 'token')));
      assert.equal(String(message?.plaintext), required(v, 'plaintext'));
      assert.equal(message?.timestamp, Number(required(v, 'seconds')));
    });
  }

  for (const v of vectors.filter((x) => x.kind === 'request')) {
    it(`request${one(v, 'key') ? ', signed' : ''}: encodes and decodes`, () => {
      const key = keyOf(v);
      const fields = {
        nonce: Buffer.from(required(v, 'nonce'), 'hex'),
        timestamp: Number(required(v, 'timestamp')),
        service: one(v, 'service'),
      };
      assert.deepEqual(encodeRequest(fields, key), v.datagram);
      const decoded = decodeRequest(v.datagram ?? Buffer.alloc(0));
      assert.ok(decoded);
      assert.deepEqual(
        { nonce: decoded.nonce, timestamp: decoded.timestamp, service: decoded.service },
        fields,
      );
      assert.equal(decoded.authenticated, key !== undefined);
      if (key)
        assert.deepEqual(verifyTag(decoded, [Buffer.from('another key, 16+ bytes'), key]), key);
    });
  }

  for (const v of vectors.filter((x) => x.kind === 'answer')) {
    it(`answer ${one(v, 'address')}${one(v, 'key') ? ', signed' : ''}: encodes and decodes`, () => {
      const key = keyOf(v);
      const values = Object.fromEntries(
        (v.fields.get('value') ?? []).map((pair) => pair.split('=') as [string, string]),
      );
      const answer = {
        nonce: Buffer.from(required(v, 'nonce'), 'hex'),
        timestamp: Number(required(v, 'timestamp')),
        address: required(v, 'address'),
        port: Number(required(v, 'port')),
        metadata: {
          instanceId: required(v, 'instanceId'),
          name: one(v, 'name'),
          service: one(v, 'service'),
          scheme: one(v, 'scheme'),
          version: one(v, 'version'),
          values,
        },
      };
      assert.deepEqual(encodeAnswer(answer, key), v.datagram);
      const decoded = decodeAnswer(v.datagram ?? Buffer.alloc(0));
      assert.ok(decoded);
      const { authenticated, signed, tag, ...fields } = decoded;
      assert.deepEqual({ ...fields, metadata: { ...fields.metadata } }, answer);
      assert.equal(authenticated, key !== undefined);
      if (key) assert.ok(verifyTag({ signed, tag }, [key]));
      assert.equal(verifyTag({ signed, tag }, [Buffer.from('not the key, but long')]), undefined);
      // The address field is the one of its family: address (0x10) or address6 (0x18).
      assert.equal(v.datagram?.[34], answer.address.includes(':') ? 0x18 : 0x10);
    });
  }
});
