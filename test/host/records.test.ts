import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBeckonError } from '../../src/errors.js';
import {
  decodeClientLine,
  decodeServerLine,
  dedupeRecords,
  encodeLine,
  HostLimits,
  type HostRecord,
  RecordError,
  validateRecord,
} from '../../src/host/records.js';

const record: HostRecord = { instanceId: 'a', httpPort: 8080, pid: 100, service: 'orders' };

function refused(fn: () => unknown, reason: string, field?: string): RecordError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof RecordError, `expected a RecordError, got ${String(caught)}`);
  assert.ok(isBeckonError(caught, 'BECKON_ERR_HOST_RECORD'));
  assert.equal(caught.reason, reason);
  if (field !== undefined) assert.equal(caught.field, field);
  return caught;
}

describe('host records', () => {
  it('round-trips a full record through one line', () => {
    const full: HostRecord = {
      ...record,
      name: 'Orders',
      scheme: 'https',
      version: '1.2.3',
      values: { region: 'eu' },
      keyed: true,
      serviceAddress: '10.0.0.5',
    };
    const line = encodeLine({ op: 'register', record: full });
    assert.ok(!line.includes('\n'));
    const decoded = decodeClientLine(line);
    assert.ok(decoded.op === 'register');
    // values comes back with a null prototype; compare its entries.
    assert.deepEqual({ ...decoded.record, values: { ...decoded.record.values } }, full);
    assert.deepEqual(decodeClientLine(encodeLine({ op: 'unregister', instanceId: 'a' })), {
      op: 'unregister',
      instanceId: 'a',
    });
    refused(() => decodeServerLine('{"op":"error","reason":"made-up"}'), 'bad-field', 'reason');
    assert.deepEqual(decodeServerLine(encodeLine({ op: 'ok', instanceId: 'a' })), {
      op: 'ok',
      instanceId: 'a',
    });
  });

  it('refuses wrong types and missing fields, naming the field', () => {
    refused(() => validateRecord({ ...record, httpPort: '8080' }), 'bad-field', 'httpPort');
    refused(() => validateRecord({ ...record, httpPort: 0 }), 'bad-field', 'httpPort');
    refused(() => validateRecord({ ...record, httpPort: 65536 }), 'bad-field', 'httpPort');
    refused(() => validateRecord({ ...record, pid: 1.5 }), 'bad-field', 'pid');
    refused(() => validateRecord({ httpPort: 1, pid: 1 }), 'bad-field', 'instanceId');
    refused(() => validateRecord({ ...record, instanceId: '' }), 'bad-field', 'instanceId');
    refused(() => validateRecord({ ...record, service: 'x'.repeat(256) }), 'bad-field', 'service');
    refused(() => validateRecord({ ...record, scheme: 'HTTP://' }), 'bad-field', 'scheme');
    refused(() => validateRecord({ ...record, values: { a: 1 } }), 'bad-field', 'values.a');
    refused(() => validateRecord({ ...record, values: [] }), 'not-object');
    refused(() => validateRecord({ ...record, extra: true }), 'unknown-field', 'extra');
    refused(() => validateRecord(null), 'not-object');
    refused(() => validateRecord([record]), 'not-object');
    const error = refused(() => validateRecord({ ...record, httpPort: 'x' }), 'bad-field');
    assert.match(error.message, /Invalid httpPort: "x" \(expected an integer from 1 to 65535\)/);
  });

  it('carries keys as a mark only, and signing requests as bounded base64', () => {
    refused(() => validateRecord({ ...record, keyed: false }), 'bad-field', 'keyed');
    refused(() => validateRecord({ ...record, authKeys: ['k'] }), 'unknown-field', 'authKeys');
    const sign = {
      op: 'sign',
      id: 7,
      instanceId: 'a',
      request: Buffer.from('hello').toString('base64'),
      address: '10.0.0.5',
    } as const;
    assert.deepEqual(decodeServerLine(encodeLine(sign)), sign);
    assert.deepEqual(decodeClientLine('{"op":"signed","id":7}'), { op: 'signed', id: 7 });
    assert.deepEqual(decodeClientLine(encodeLine({ op: 'signed', id: 7, answer: 'aGk=' })), {
      op: 'signed',
      id: 7,
      answer: 'aGk=',
    });
    refused(() => decodeClientLine('{"op":"signed","id":0}'), 'bad-field', 'id');
    refused(
      () => decodeClientLine('{"op":"signed","id":1,"answer":"not base64!"}'),
      'bad-field',
      'answer',
    );
    const huge = Buffer.alloc(2000).toString('base64');
    refused(
      () => decodeClientLine(`{"op":"signed","id":1,"answer":"${huge}"}`),
      'bad-field',
      'answer',
    );
    refused(() => decodeServerLine(encodeLine({ ...sign, request: huge })), 'bad-field', 'request');
  });

  it("holds records to what an answer can carry, as a responder's own options are", () => {
    const nine = Object.fromEntries([...Array(9).keys()].map((i) => [`k${i}`, 'v']));
    refused(() => validateRecord({ ...record, values: nine }), 'bad-field', 'metadata');
    refused(() => validateRecord({ ...record, name: 'a\u0007b' }), 'bad-field', 'name');
    refused(
      () => validateRecord({ ...record, advertiseAddress: 'fd00::1' }),
      'bad-field',
      'advertiseAddress',
    );
    refused(
      () => validateRecord({ ...record, serviceAddress: 'ff02::1' }),
      'bad-field',
      'serviceAddress',
    );
    const { httpPort: _port, ...portless } = record;
    assert.equal(validateRecord(portless).httpPort, undefined);
  });

  it("carries a service's offLink 'none', and nothing else there", () => {
    assert.equal(validateRecord({ ...record, offLink: 'none' }).offLink, 'none');
    assert.equal(validateRecord(record).offLink, undefined);
    refused(() => validateRecord({ ...record, offLink: 'private' }), 'bad-field', 'offLink');
    refused(() => validateRecord({ ...record, offLink: true }), 'bad-field', 'offLink');
  });

  it('refuses hostile lines', () => {
    refused(() => decodeClientLine('x'.repeat(HostLimits.lineBytes + 1)), 'line-too-long');
    refused(() => decodeClientLine('{"op":"register",'), 'bad-json');
    refused(() => decodeClientLine(''), 'bad-json');
    refused(() => decodeClientLine('42'), 'not-object');
    refused(() => decodeClientLine('"register"'), 'not-object');
    refused(() => decodeClientLine('{"op":"delete"}'), 'unknown-op', 'op');
    refused(() => decodeClientLine('{"op":"register","record":{},"x":1}'), 'unknown-field', 'x');
    refused(() => decodeClientLine('{"op":"register","record":"a"}'), 'not-object');
    // A line of multi-byte characters under the character count but over the byte bound.
    refused(
      () => decodeClientLine(`"${'é'.repeat(HostLimits.lineBytes / 2 + 1)}"`),
      'line-too-long',
    );
  });

  it('refuses prototype pollution keys and pollutes nothing', () => {
    const register = (body: string) => `{"op":"register","record":${body}}`;
    const base = '"instanceId":"a","httpPort":1,"pid":1';
    refused(
      () => decodeClientLine(register(`{${base},"__proto__":{"polluted":1}}`)),
      'unknown-field',
      '__proto__',
    );
    refused(
      () => decodeClientLine(register(`{${base},"values":{"__proto__":"x"}}`)),
      'unknown-field',
      '__proto__',
    );
    refused(
      () => decodeClientLine(register(`{${base},"values":{"constructor":"x"}}`)),
      'unknown-field',
    );
    refused(
      () => decodeClientLine(`{"op":"register","__proto__":{"op":"unregister"}}`),
      'unknown-field',
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const decoded = decodeClientLine(register(`{${base},"values":{"a":"b"}}`));
    assert.ok(decoded.op === 'register');
    assert.equal(Object.getPrototypeOf(decoded.record.values), null);
  });

  it('encodeLine refuses a message over the line bound', () => {
    const values: Record<string, string> = {};
    for (let i = 0; i < 32; i++) values[`k${i}`] = 'v'.repeat(255);
    refused(() => encodeLine({ op: 'register', record: { ...record, values } }), 'line-too-long');
  });

  it('dedupes by instance id and by identical content', () => {
    const worker2 = { ...record, instanceId: 'b', pid: 101 };
    const other = { ...record, instanceId: 'c', service: 'users', httpPort: 8081 };
    const sameId = { ...record, httpPort: 9000 };
    const reordered = { ...record, instanceId: 'd', values: { b: '2', a: '1' } };
    const ordered = { ...record, instanceId: 'e', values: { a: '1', b: '2' } };
    const result = dedupeRecords([record, worker2, other, sameId, reordered, ordered]);
    assert.deepEqual(
      result.map((r) => r.instanceId),
      ['a', 'c', 'd'],
    );
  });
});
