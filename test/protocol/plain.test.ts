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
import { pyInt, pyStrip } from '../../src/protocol/python-text.js';
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
  /** What test/peers/python_text.py prints: this Python's special characters, by behaviour. */
  interface Probe {
    readonly python: string;
    readonly unicode: string;
    /** [code point, strip, int(c+"1"), int("1"+c), int("1"+c+"1"), int(c)] */
    readonly special: [number, boolean, ...(number | null)[]][];
    readonly unassigned: [number, number][];
  }
  let probe: Probe | undefined;
  const readProbe = (): Probe => {
    if (probe) return probe;
    const run = spawnSync(PYTHON, ['test/peers/python_text.py'], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    assert.equal(run.status, 0, run.stderr);
    probe = JSON.parse(run.stdout) as Probe;
    return probe;
  };

  /** The same probes as python_text.py, made with our emulation, as text to compare. */
  const ours = (c: string): string => {
    const int = (text: string) => {
      const value = pyInt(text);
      return value === undefined ? null : value === 0 ? 0 : value; // -0 is 0 to Python
    };
    return JSON.stringify([
      pyStrip(`${c}x${c}`) === 'x',
      int(`${c}1`),
      int(`1${c}`),
      int(`1${c}1`),
      int(c),
    ]);
  };

  it("pyStrip() and pyInt() treat exactly the characters specially that Python's do", (t) => {
    if (!requirePrerequisite(t, hasPython(), `Python at ${PYTHON}`)) return;
    const { python, unicode, special, unassigned } = readProbe();
    const theirs = new Map(special.map(([cp, ...signature]) => [cp, JSON.stringify(signature)]));
    const unknownToPython = (cp: number) => unassigned.some(([a, b]) => cp >= a && cp <= b);
    const plain = ours('a');
    const differences: string[] = [];
    let newer = 0;
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const signature = ours(String.fromCodePoint(cp));
      const expected = theirs.get(cp) ?? plain;
      if (signature === expected) continue;
      // A digit of a Unicode version newer than this Python's: Python does not know the
      // character at all, so it is no class of character we read differently.
      if (!theirs.has(cp) && unknownToPython(cp)) {
        newer++;
        continue;
      }
      differences.push(
        `U+${cp.toString(16).padStart(4, '0')}: ours ${signature}, Python ${expected}`,
      );
    }
    t.diagnostic(
      `${special.length} special characters in Python ${python.split(' ')[0]} (Unicode ${unicode}); ` +
        `${newer} digits of a newer Unicode (${process.versions.unicode}) known to Node only`,
    );
    assert.ok(special.length > 600, `only ${special.length} special characters: the probe broke`);
    assert.deepEqual(differences.slice(0, 20), [], `${differences.length} characters differ`);
  });

  it('accepts and rejects the same replies as the original client, every special character in every position', (t) => {
    if (!requirePrerequisite(t, hasPython(), `Python at ${PYTHON}`)) return;
    const bytes = (...parts: (string | Buffer)[]) =>
      Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
    // Every character Python treats specially, plus bytes the UTF-8 decoder drops (a stray
    // continuation byte, cut and overlong sequences, an encoded surrogate, a code point past
    // U+10FFFF, 0xff), a real U+FFFD, and characters that look like space or digits to someone
    // but not to Python.
    const { special } = readProbe();
    const char = (cp: number) => Buffer.from(String.fromCodePoint(cp));
    const specials = special.map(([cp]) => char(cp));
    // The classes, as Python's behaviour shows them: space to strip(), digits, and the rest (the
    // signs and "_"). Random replies draw a class first, so the few spaces are not drowned out
    // by the hundreds of digit sets.
    const spaces = special.filter(([, strip]) => strip).map(([cp]) => char(cp));
    const digits = special.filter((s) => !s[1] && s[5] !== null).map(([cp]) => char(cp));
    const marks = special.filter((s) => !s[1] && s[5] === null).map(([cp]) => char(cp));
    const others = [
      Buffer.from([0x80]),
      Buffer.from([0xc3]),
      Buffer.from([0xe2, 0x80]),
      Buffer.from([0xf0, 0x9f, 0x98]),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from([0xff]),
      Buffer.from([0xc0, 0xaf]), // overlong
      Buffer.from([0xe0, 0x80, 0xaf]), // overlong
      Buffer.from([0xf4, 0x90, 0x80, 0x80]), // beyond U+10FFFF
      Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), // five bytes
      Buffer.from([0xe2, 0x80, 0x33]), // a cut sequence before a digit
      ...[
        '\ufffd',
        '\ufeff',
        '\u200b',
        '\u180e',
        '\u2060',
        '\x00',
        '\x7f',
        'a',
        '.',
        ':',
        '¹',
        '½',
      ].map((c) => Buffer.from(c)),
    ];
    const characters = [...specials, ...others];
    const templates: ((x: Buffer) => Buffer)[] = [
      (x) => bytes(x, '10.0.0.5:8080'),
      (x) => bytes('10.0.0.5:8080', x),
      (x) => bytes('10.0.0.5:', x, '8080'),
      (x) => bytes('10.0.0.5:', x, x, '8080', x, x),
      (x) => bytes('10.0.0.5:80', x, '80'),
      (x) => bytes('10.0.0.5', x, ':8080'),
      (x) => bytes('10.0.0.5:', x),
      (x) => bytes(x, '10.0.0.5'),
      (x) => bytes('10.0.0.5', x),
      (x) => bytes('10.0.0.', x),
      (x) => bytes('10.0.0.', x, '5'),
      (x) => bytes('10.0.', x, '.5'),
      (x) => bytes('10.0.', x, '5.5:80'),
      (x) => bytes('10.0.5', x, '.5:80'),
      (x) => bytes('10.0.5', x, '5.5'),
      (x) => bytes('1', x, '.2.3.4:8', x, '0'),
      (x) => bytes(x, '1.2.3.4:', x, '+80', x),
    ];
    const samples: Buffer[] = [];
    for (const x of characters) for (const template of templates) samples.push(template(x));

    // Random replies mixing them, from a seed that a failure names.
    const seed = Number(process.env.BECKON_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
    let state = seed;
    const random = () => {
      state = (state + 0x6d2b79f5) | 0;
      let r = Math.imul(state ^ (state >>> 15), 1 | state);
      r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
      return ((r ^ (r >>> 14)) >>> 0) / 2 ** 32;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
    const token = () => {
      const roll = random();
      if (roll < 0.4) return Buffer.from(String(Math.floor(random() * 10)));
      if (roll < 0.65) return pick(spaces);
      if (roll < 0.8) return pick(digits);
      if (roll < 0.93) return pick(marks);
      return pick(others);
    };
    const run = (max: number) => {
      const parts: Buffer[] = [];
      const length = 1 + Math.floor(random() * max);
      for (let i = 0; i < length; i++) parts.push(token());
      return Buffer.concat(parts);
    };
    const randomCount = 28_000 - samples.length;
    for (let i = 0; i < randomCount; i++) {
      const octets = [run(3), run(3), run(3), run(3)];
      const port = random() < 0.7 ? bytes(':', run(5)) : Buffer.alloc(0);
      samples.push(bytes(run(2), bytes(...octets.flatMap((o, k) => (k ? ['.', o] : [o]))), port));
    }

    const python = spawnSync(
      PYTHON,
      ['test/peers/original_client.py', 'parse', PREFIX.toString('hex')],
      {
        input: samples.map((s) => Buffer.concat([PREFIX, s]).toString('hex')).join('\n'),
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    assert.equal(python.status, 0, python.stderr);
    const expected = python.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as [string, number] | null);
    assert.equal(expected.length, samples.length);
    let accepted = 0;
    const differences: string[] = [];
    samples.forEach((sample, i) => {
      const result = ipPort(parse(Buffer.concat([PREFIX, sample]))) ?? null;
      if (result) accepted++;
      if (JSON.stringify(result) !== JSON.stringify(expected[i])) {
        differences.push(
          `${JSON.stringify(sample.toString('latin1'))}: ours ${JSON.stringify(result)}, Python ${JSON.stringify(expected[i])}`,
        );
      }
    });
    t.diagnostic(
      `${samples.length} replies (${characters.length} characters x ${templates.length} positions, ` +
        `${randomCount} random from seed ${seed}): ${accepted} accepted, ${differences.length} differ`,
    );
    assert.deepEqual(
      differences.slice(0, 10),
      [],
      `${differences.length} of ${samples.length} replies differ (seed ${seed})`,
    );
    assert.ok(accepted > samples.length / 20, `only ${accepted} replies were accepted`);
  });

  it('accepts \\x1c-\\x1f and the Unicode spaces around the port, as int(port.strip()) does', () => {
    for (const space of ['\x1c', '\x1d', '\x1e', '\x1f', '\x85', '\xa0', '\u2028', '\u3000']) {
      assert.deepEqual(ipPort(parse(`SERVER_IP:10.0.0.5:${space}8080${space}`)), [
        '10.0.0.5',
        8080,
      ]);
    }
    assert.deepEqual(ipPort(parse('SERVER_IP:10.0.0.5:\x1c8080')), ['10.0.0.5', 8080]);
    assert.deepEqual(ipPort(parse('SERVER_IP:10.0.0.5:\u0668\u0660')), ['10.0.0.5', 80]);
    assert.equal(parse('SERVER_IP:10.0.0.\x1c5:8080'), undefined, 'int() alone keeps \\x1c');
  });
});
