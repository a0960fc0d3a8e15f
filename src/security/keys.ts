/** Checking and making keys. Error messages never contain a key. */
import { randomBytes } from 'node:crypto';
import { InvalidOptionError } from '../errors.js';
import { decodeFernetKey, type FernetKey } from '../protocol/fernet.js';

/** Shortest shared authentication key, in bytes. */
export const MIN_AUTH_KEY_BYTES = 16;
/** Longest shared authentication key, in bytes. */
export const MAX_AUTH_KEY_BYTES = 256;
/** Most keys a responder accepts at once (current plus older ones, during a rotation). */
export const MAX_AUTH_KEYS = 8;

/**
 * A new random key: 32 bytes of URL-safe base64 (44 characters). It is a valid Fernet key and a
 * valid shared authentication key.
 */
export function generateKey(): string {
  // Never a leading "-": `--secret-key -abc` would read as a flag. Costs under 0.1 bit.
  for (;;) {
    const key = randomBytes(32).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    if (!key.startsWith('-')) return key;
  }
}

/**
 * A Fernet key, refused with the original's messages ("Fernet key must be non-empty." /
 * "Invalid Fernet key format.").
 */
export function checkFernetKey(option: string, value: unknown): FernetKey {
  if (value !== undefined && typeof value !== 'string') {
    throw InvalidOptionError.secret(option, `not a string (${typeof value})`, FERNET_ALLOWED);
  }
  const key = decodeFernetKey(value ?? '');
  if (typeof key === 'string') throw InvalidOptionError.secret(option, key, FERNET_ALLOWED);
  return key;
}

const FERNET_ALLOWED = '32 bytes of URL-safe base64, 44 characters, e.g. from `beckon keygen`';

/** One shared authentication key as bytes. */
export function checkAuthKey(option: string, value: unknown): Buffer {
  const allowed = `a string of ${MIN_AUTH_KEY_BYTES} to ${MAX_AUTH_KEY_BYTES} bytes, e.g. from \`beckon keygen\``;
  if (typeof value !== 'string') {
    throw InvalidOptionError.secret(option, `not a string (${typeof value})`, allowed);
  }
  const bytes = Buffer.from(value.trim());
  if (bytes.byteLength < MIN_AUTH_KEY_BYTES || bytes.byteLength > MAX_AUTH_KEY_BYTES) {
    throw InvalidOptionError.secret(option, `a key of ${bytes.byteLength} bytes`, allowed);
  }
  return bytes;
}

/** A list of 1 to {@link MAX_AUTH_KEYS} shared keys; the first is the current one. */
export function checkAuthKeys(option: string, value: unknown): Buffer[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_AUTH_KEYS) {
    throw InvalidOptionError.secret(
      option,
      Array.isArray(value) ? `${value.length} keys` : `not an array (${typeof value})`,
      `an array of 1 to ${MAX_AUTH_KEYS} keys`,
    );
  }
  return value.map((key, i) => checkAuthKey(`${option}[${i}]`, key));
}
