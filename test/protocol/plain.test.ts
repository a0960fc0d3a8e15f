import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  encodeReply,
  encodeRequest,
  isRequest,
  type PlainReply,
  parsePlainReply,
} from '../../src/protocol/plain.js';
import { hasPython, PYTHON, requirePrerequisite } from '../helpers/prerequisite.js';

const PREFIX = Buffer.from('SERVER_IP:');
const parse = (text: string | Buffer, prefix = PREFIX) =>
  parsePlainReply(typeof text === 'string' ? Buffer.from(text) : text, prefix);
const ipPort = (r: PlainReply | undefined) => (r ? [r.ipText, r.port] : undefined);

describe('plain request', () => {
  const request = encodeRequest('DISCOVER_SERVER');

  it('is the message bytes, nothing more', () => {
    assert.deepEqual(request, Buffer.from('DISCOVER_SERVER'));
    assert.equal(request.byteLength, 15);
  });

  const cases: [string, Buffer, boolean][] = [
    ['exact bytes', Buffer.from('DISCOVER_SERVER'), true],
    ['trailing newline', Buffer.from('DISCOVER_SERVER\n'), false],
    ['lower case', Buffer.from('discover_server'), false],
    ['extra bytes', Buffer.from('DISCOVER_SERVERX'), false],
    ['prefix only', Buffer.from('DISCOVER'), false],
    ['empty', Buffer.alloc(0), false],
    ['huge', Buffer.alloc(65000, 0x41), false],
  ];
  for (const [name, datagram, expected] of cases) {
    it(`matches only on byte equality: ${name}`, () => {
      assert.equal(isRequest(datagram, request), expected);
    });
  }

  it('compares what a buffer of the given size would read, as the original recvfrom did', () => {
    const long = Buffer.from('ABCD');
    assert.equal(isRequest(Buffer.from('ABCDEF'), long, 4), true);
    assert.equal(isRequest(Buffer.from('ABCDEF'), long, 1024), false);
  });

  it('encodes a custom UTF-8 message', () => {
    assert.deepEqual(encodeRequest('FIND_ü'), Buffer.from([...Buffer.from('FIND_'), 0xc3, 0xbc]));
  });
});

describe('plain reply encoding', () => {
  it('adds the HTTP port when known', () => {
    assert.equal(String(encodeReply('SERVER_IP:', '10.0.0.5', 8080)), 'SERVER_IP:10.0.0.5:8080');
  });
  it('omits the port when unknown, like the stock server', () => {
    assert.equal(String(encodeReply('SERVER_IP:', '10.0.0.5')), 'SERVER_IP:10.0.0.5');
  });
  it('round-trips through the parser', () => {
    assert.deepEqual(parse(encodeReply('SERVER_IP:', '192.168.1.10', 3000)), {
      ip: '192.168.1.10',
      ipText: '192.168.1.10',
      port: 3000,
      hasPort: true,
    });
  });
});

describe('plain reply parsing (the original client accepts exactly these)', () => {
  const table: [string, string | Buffer, [string, number] | undefined][] = [
    ['ip and port', 'SERVER_IP:192.168.1.100:8000', ['192.168.1.100', 8000]],
    ['no port -> 8000', 'SERVER_IP:10.0.0.5', ['10.0.0.5', 8000]],
    ['spaces everywhere', 'SERVER_IP:  192.168.1.100  :  8000  ', ['192.168.1.100', 8000]],
    ['prefix only', 'SERVER_IP:', undefined],
    ['port 99999', 'SERVER_IP:192.168.1.1:99999', undefined],
    ['port 0', 'SERVER_IP:192.168.1.1:0', undefined],
    ['port 65535', 'SERVER_IP:192.168.1.1:65535', ['192.168.1.1', 65535]],
    ['port 1', 'SERVER_IP:192.168.1.1:1', ['192.168.1.1', 1]],
    ['negative port', 'SERVER_IP:192.168.1.1:-80', undefined],
    ['signed port', 'SERVER_IP:192.168.1.1:+80', ['192.168.1.1', 80]],
    ['underscore port', 'SERVER_IP:192.168.1.1:8_000', ['192.168.1.1', 8000]],
    ['double underscore', 'SERVER_IP:192.168.1.1:8__000', undefined],
    ['empty port', 'SERVER_IP:192.168.1.1:', undefined],
    ['two colons', 'SERVER_IP:192.168.1.1:80:90', undefined],
    ['wrong prefix', 'SERVER-IP:192.168.1.1', undefined],
    ['lower-case prefix', 'server_ip:192.168.1.1', undefined],
    ['three octets', 'SERVER_IP:192.168.1', undefined],
    ['five octets', 'SERVER_IP:1.2.3.4.5', undefined],
    ['octet 256', 'SERVER_IP:192.168.1.256', undefined],
    ['octet -1', 'SERVER_IP:192.168.1.-1', undefined],
    ['leading zeros', 'SERVER_IP:010.001.000.009', ['010.001.000.009', 8000]],
    ['hostname', 'SERVER_IP:example.com', undefined],
    ['ipv6', 'SERVER_IP:::1', undefined],
    ['empty octet', 'SERVER_IP:1..2.3', undefined],
    ['newline after', 'SERVER_IP:10.0.0.1\n', ['10.0.0.1', 8000]],
    ['tab inside octet', 'SERVER_IP:10.\t0.0.1', ['10.\t0.0.1', 8000]],
    ['\\x1c is space to strip() only', 'SERVER_IP:\x1c10.0.0.1\x1c', ['10.0.0.1', 8000]],
    ['\\x1c inside an octet rejects', 'SERVER_IP:10.0.0.\x1c1', undefined],
    ['arabic digits', 'SERVER_IP:10.0.0.\u0661:\u0668\u0660', ['10.0.0.\u0661', 80]],
    ['BOM is not space', Buffer.from('SERVER_IP:\ufeff10.0.0.1'), undefined],
    [
      'bad UTF-8 is dropped',
      Buffer.from([...PREFIX, 0xff, ...Buffer.from('10.0.0.1')]),
      ['10.0.0.1', 8000],
    ],
    ['real U+FFFD rejects', Buffer.from('SERVER_IP:10.0.0.1\ufffd'), undefined],
    ['empty datagram', Buffer.alloc(0), undefined],
    [
      'huge: read only 4096 bytes',
      Buffer.from(`SERVER_IP:10.0.0.1${' '.repeat(5000)}x`),
      ['10.0.0.1', 8000],
    ],
    [
      'huge: junk inside 4096 bytes',
      Buffer.from(`SERVER_IP:10.0.0.1${'x'.repeat(5000)}`),
      undefined,
    ],
  ];
  for (const [name, input, expected] of table) {
    it(name, () => assert.deepEqual(ipPort(parse(input)), expected));
  }

  it('reports a canonical ip beside the original text', () => {
    const reply = parse('SERVER_IP:010.001.000.009:+0080');
    assert.equal(reply?.ip, '10.1.0.9');
    assert.equal(reply?.ipText, '010.001.000.009');
    assert.equal(reply?.port, 80);
  });

  it('honours a custom prefix', () => {
    assert.deepEqual(ipPort(parse('HERE=1.2.3.4:5', Buffer.from('HERE='))), ['1.2.3.4', 5]);
    assert.equal(parse('SERVER_IP:1.2.3.4', Buffer.from('HERE=')), undefined);
  });

  it('never throws on random bytes', () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.concat([PREFIX, randomBytes(i % 40)]);
      const reply = parse(bytes);
      if (reply) assert.match(reply.ip, /^(\d{1,3}\.){3}\d{1,3}$/);
    }
  });
});

describe('plain reply parsing against real Python', () => {
  it('accepts and rejects the same datagrams as the original client, with the same results', (t) => {
    if (!requirePrerequisite(t, hasPython(), `Python at ${PYTHON}`)) return;
    // Replies built from octet and port variants that exercise Python's strip() and int();
    // 0xff and 0xc3 bytes are invalid UTF-8 that the original drops.
    const bytes = (...parts: (string | number)[]) =>
      Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p))));
    const octets = [
      bytes('1'),
      bytes('10'),
      bytes('255'),
      bytes('256'),
      bytes('0'),
      bytes('+1'),
      bytes('-0'),
      bytes('-1'),
      bytes('1_0'),
      bytes('_1'),
      bytes('\u0661'),
      bytes(' 7'),
      bytes('7\t'),
      bytes('\u00a07'),
      bytes('\x1c7'),
      bytes('\ufeff1'),
      bytes(0xff, '1'),
      bytes('1', 0xc3),
      bytes(''),
      bytes('a'),
      bytes('\u20037'),
    ];
    const ports = [
      bytes(''),
      bytes(':80'),
      bytes(': 8000 '),
      bytes(':+80'),
      bytes(':8_0'),
      bytes(':0'),
      bytes(':99999'),
      bytes(':\u0668\u0660'),
      bytes(':'),
      bytes(':a'),
      bytes(':80:1'),
      bytes(':', 0xff, '80'),
    ];
    const edges = [bytes(''), bytes(' '), bytes('\n'), bytes('\x85'), bytes(0xff), bytes('\u3000')];
    const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)] as T;
    const samples: Buffer[] = [];
    for (let i = 0; i < 4000; i++) {
      const ip = [
        pick(octets),
        bytes('.'),
        pick(octets),
        bytes('.'),
        pick(octets),
        bytes('.'),
        pick(octets),
      ];
      samples.push(Buffer.concat([PREFIX, pick(edges), ...ip, pick(ports), pick(edges)]));
    }
    for (const ip of ['1.2.3.4', '255.255.255.255', '0.0.0.0', '1.2.3.4:65535', '1 .2.3.4']) {
      samples.push(Buffer.from(`SERVER_IP:${ip}`));
    }
    const run = spawnSync(
      PYTHON,
      ['test/peers/original_client.py', 'parse', PREFIX.toString('hex')],
      {
        input: samples.map((s) => s.toString('hex')).join('\n'),
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, run.stderr);
    const expected = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(expected.length, samples.length);
    let accepted = 0;
    samples.forEach((sample, i) => {
      const ours = ipPort(parse(sample));
      assert.deepEqual(ours ?? null, expected[i], `datagram ${sample.toString('hex')}`);
      if (ours) accepted++;
    });
    assert.ok(accepted > 10, `only ${accepted} samples were accepted: the sample set is too weak`);
  });
});
