/**
 * The few Python string semantics the original client's reply parser depends on, emulated
 * exactly so that we accept the same replies: `bytes.decode('utf-8', errors='ignore')`,
 * `str.strip()` and `int(str)`.
 */

// Characters for which Python's str.isspace() is true.
const PY_SPACE =
  '\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006' +
  '\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

// int() maps non-ASCII whitespace to ' ' but passes ASCII through and then skips only
// " \t\n\v\f\r", so the separators \x1c-\x1f are whitespace to strip() but not to int().
const INT_SPACE = PY_SPACE.replace('\x1c\x1d\x1e\x1f', '');

function stripChars(text: string, chars: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && chars.includes(text.charAt(start))) start++;
  while (end > start && chars.includes(text.charAt(end - 1))) end--;
  return text.slice(start, end);
}

/** Python's `str.strip()` with no argument. */
export function pyStrip(text: string): string {
  return stripChars(text, PY_SPACE);
}

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const REPLACEMENT_BYTES = Buffer.from([0xef, 0xbf, 0xbd]);

/**
 * Python's `bytes.decode('utf-8', errors='ignore')`, or undefined when the bytes hold a real
 * U+FFFD. Both decoders drop the same maximal invalid subparts, so decoding with replacement
 * and removing U+FFFD is exact as long as no U+FFFD was really there; a real one can never
 * survive the original's int() checks anyway, so callers treat undefined as "reject".
 */
export function pyDecodeIgnore(bytes: Uint8Array): string | undefined {
  if (Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).includes(REPLACEMENT_BYTES)) {
    return undefined;
  }
  return decoder.decode(bytes).replaceAll('\ufffd', '');
}

const DECIMAL_DIGIT = /^\p{Nd}$/u;

/**
 * Value of a Unicode decimal digit. Unicode encodes every Nd digit set as a run of ten code
 * points, 0 to 9, so the digit is the distance from the start of its run modulo 10.
 */
function digitValue(ch: string): number {
  const cp = ch.codePointAt(0) ?? 0;
  let start = cp;
  while (start > 0 && DECIMAL_DIGIT.test(String.fromCodePoint(start - 1))) start--;
  return (cp - start) % 10;
}

/**
 * Python's `int(text)` in base 10: surrounding whitespace, one optional sign, Unicode decimal
 * digits, single underscores between digits. Returns undefined where Python raises ValueError.
 * Values beyond 2^53 lose precision, which is harmless for the range checks that follow.
 *
 * Not the same whitespace as {@link pyStrip}: `int('\x1c8')` fails while `'\x1c8'.strip()` is
 * `'8'`, so emulate `int(s.strip())` as `pyInt(pyStrip(s))`. Digits are those of the Unicode
 * version Node ships, which may be newer than the Python's (digit sets added since are the only
 * difference). Python's 4,300-digit limit for int() cannot be reached within a 4,096-byte reply.
 */
export function pyInt(text: string): number | undefined {
  const body = stripChars(text, INT_SPACE);
  let i = 0;
  let sign = 1;
  if (body[0] === '+' || body[0] === '-') {
    sign = body[0] === '-' ? -1 : 1;
    i = 1;
  }
  const chars = Array.from(body.slice(i));
  if (chars.length === 0) return undefined;
  let value = 0;
  let previous = '_';
  for (const ch of chars) {
    if (ch === '_') {
      if (previous === '_') return undefined;
    } else if (DECIMAL_DIGIT.test(ch)) {
      value = value * 10 + digitValue(ch);
    } else {
      return undefined;
    }
    previous = ch;
  }
  if (previous === '_') return undefined;
  return sign * value;
}

const BASE64 = /[A-Za-z0-9+/]/;
const CANONICAL_URLSAFE = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Python's `base64.urlsafe_b64decode` (non-strict `binascii.a2b_base64`): `-_` read as `+/`,
 * characters outside the alphabet skipped, decoding stops at complete padding, and a dangling
 * partial group is an error (undefined).
 */
export function pyUrlsafeB64Decode(text: string): Buffer | undefined {
  if (text.length % 4 === 0 && CANONICAL_URLSAFE.test(text)) return Buffer.from(text, 'base64url');
  let data = '';
  let pads = 0;
  for (const raw of text) {
    const ch = raw === '-' ? '+' : raw === '_' ? '/' : raw;
    if (ch === '=') {
      const partial = data.length % 4;
      pads++;
      if (partial >= 2 && partial + pads >= 4) return Buffer.from(data, 'base64');
    } else if (BASE64.test(ch)) {
      data += ch;
    }
  }
  return data.length % 4 === 0 ? Buffer.from(data, 'base64') : undefined;
}
