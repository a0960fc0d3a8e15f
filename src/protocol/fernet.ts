/**
 * Fernet tokens (https://github.com/fernet/spec), the original's encrypted mode, with
 * `node:crypto`. Pure functions: the time and the IV are parameters, nothing is sent or stored.
 *
 * Token: `0x80 | timestamp (u64 seconds) | IV (16) | AES-128-CBC ciphertext | HMAC-SHA256 (32)`,
 * URL-safe base64 with padding. The key is 32 bytes of URL-safe base64: signing key, then
 * encryption key, 16 bytes each.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { pyUrlsafeB64Decode } from './python-text.js';

const VERSION = 0x80;
const HEADER = 1 + 8 + 16;
const TAG = 32;
const BLOCK = 16;

/** A decoded Fernet key. */
export interface FernetKey {
  readonly signing: Buffer;
  readonly encryption: Buffer;
}

/** Why a key was refused, in the original's words. */
export type FernetKeyProblem = 'Fernet key must be non-empty.' | 'Invalid Fernet key format.';

/** Decodes a key as Python's `Fernet(key)` does (base64 decoded leniently, as Python does). */
export function decodeFernetKey(text: string): FernetKey | FernetKeyProblem {
  if (text.trim() === '') return 'Fernet key must be non-empty.';
  const bytes = pyUrlsafeB64Decode(text);
  if (bytes?.byteLength !== 32) return 'Invalid Fernet key format.';
  return { signing: bytes.subarray(0, 16), encryption: bytes.subarray(16) };
}

/**
 * Encrypts `plaintext` into a token (ASCII bytes, as Python's `Fernet.encrypt` returns).
 *
 * @param nowSeconds the token's timestamp, whole seconds since the epoch
 * @param iv 16 random bytes; a fresh one for every token
 */
export function encryptFernet(
  key: FernetKey,
  plaintext: Uint8Array,
  nowSeconds: number,
  iv: Uint8Array,
): Buffer {
  const cipher = createCipheriv('aes-128-cbc', key.encryption, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(HEADER);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(Math.floor(nowSeconds)), 1);
  header.set(iv, 9);
  const signed = Buffer.concat([header, ciphertext]);
  const tag = createHmac('sha256', key.signing).update(signed).digest();
  // Python's urlsafe_b64encode keeps the "=" padding, which base64url would drop.
  const text = Buffer.concat([signed, tag]).toString('base64');
  return Buffer.from(text.replace(/\+/g, '-').replace(/\//g, '_'), 'latin1');
}

/** A token that verified and decrypted. */
export interface FernetMessage {
  readonly plaintext: Buffer;
  /** The token's timestamp, seconds since the epoch. */
  readonly timestamp: number;
  /** The token's HMAC: unique per token, so it identifies a replay. */
  readonly tag: Buffer;
}

/**
 * Verifies and decrypts a token; undefined for anything that is not a valid token under `key`
 * (bad encoding, wrong version, wrong key, bad padding). Never throws, whatever the bytes. The
 * age is not checked here: see {@link ReplayGuard}.
 */
export function decryptFernet(key: FernetKey, token: Uint8Array): FernetMessage | undefined {
  const opened = openFernet(key, token);
  return typeof opened === 'string' ? undefined : opened;
}

/**
 * Like {@link decryptFernet}, but says why a datagram did not open: `not-a-token` (not a Fernet
 * token at all), or `other-key` (a well-formed token whose HMAC does not match `key`: a peer
 * holding another key, or a forgery). Never throws.
 */
export function openFernet(
  key: FernetKey,
  token: Uint8Array,
): FernetMessage | 'not-a-token' | 'other-key' {
  if (token.byteLength > 8192) return 'not-a-token';
  // Decoded as Python does, so that a token it takes (say with a trailing newline) works here too.
  const bytes = pyUrlsafeB64Decode(Buffer.from(token).toString('latin1'));
  if (!bytes) return 'not-a-token';
  const body = bytes.byteLength - HEADER - TAG;
  if (bytes[0] !== VERSION || body < BLOCK || body % BLOCK !== 0) return 'not-a-token';
  const signed = bytes.subarray(0, bytes.byteLength - TAG);
  const tag = bytes.subarray(bytes.byteLength - TAG);
  const expected = createHmac('sha256', key.signing).update(signed).digest();
  if (!timingSafeEqual(expected, tag)) return 'other-key';
  const timestamp = Number(bytes.readBigUInt64BE(1));
  try {
    const decipher = createDecipheriv('aes-128-cbc', key.encryption, bytes.subarray(9, HEADER));
    const plaintext = Buffer.concat([decipher.update(signed.subarray(HEADER)), decipher.final()]);
    return { plaintext, timestamp, tag: Buffer.from(tag) };
  } catch {
    return 'other-key'; // bad padding: only possible with a forged tag, but never throw
  }
}

// Every token made before 2106 starts so: the version byte, then a u64 time whose top bytes are 0.
const TOKEN_START = Buffer.from('gAAAAA', 'latin1');

/**
 * Whether `datagram` has the shape of a Fernet token (version, time, sizes), whatever its key:
 * what a client in encrypted mode sends, as opposed to random bytes that Python's lenient base64
 * happens to decode. Cheap for anything else: it must start with `gAAAAA`.
 */
export function looksLikeFernetToken(datagram: Uint8Array): boolean {
  if (datagram.byteLength < 100 || datagram.byteLength > 8192) return false;
  if (Buffer.compare(datagram.subarray(0, TOKEN_START.byteLength), TOKEN_START) !== 0) {
    return false;
  }
  const bytes = pyUrlsafeB64Decode(Buffer.from(datagram).toString('latin1'));
  const body = bytes === undefined ? -1 : bytes.byteLength - HEADER - TAG;
  return bytes?.[0] === VERSION && body >= BLOCK && body % BLOCK === 0;
}
