/**
 * The plain discovery protocol of django-udp-discovery, byte for byte. Pure functions: no I/O.
 *
 * Request: exactly the bytes of the discovery message (default `DISCOVER_SERVER`).
 * Reply: `<prefix><ipv4>[:<http-port>]` (default prefix `SERVER_IP:`).
 */
import { pyDecodeIgnore, pyInt, pyStrip } from './python-text.js';

/** The original's UDP discovery port. */
export const DEFAULT_DISCOVERY_PORT = 9999;
/** The original's discovery message. */
export const DEFAULT_MESSAGE = 'DISCOVER_SERVER';
/** The original's reply prefix. */
export const DEFAULT_PREFIX = 'SERVER_IP:';
/** Port assumed by the original client when a reply carries none (Django's runserver port). */
export const DEFAULT_HTTP_PORT = 8000;
/** The original server reads this many bytes of a request. */
export const DEFAULT_REQUEST_BUFFER_SIZE = 1024;
/** The original client reads this many bytes of a reply; anything after is cut off. */
export const REPLY_BUFFER_SIZE = 4096;

/** The bytes of a plain request. */
export function encodeRequest(message: string): Buffer {
  return Buffer.from(message, 'utf8');
}

/**
 * True when `datagram` is the request, compared as the original server does: the first
 * `bufferSize` bytes of the datagram (what its `recvfrom` returned) must equal the message.
 */
export function isRequest(
  datagram: Uint8Array,
  request: Uint8Array,
  bufferSize = DEFAULT_REQUEST_BUFFER_SIZE,
): boolean {
  const length = Math.min(datagram.byteLength, bufferSize);
  return (
    length === request.byteLength && Buffer.compare(datagram.subarray(0, length), request) === 0
  );
}

/** The bytes of a plain reply: `prefix + ip`, plus `:port` when the HTTP port is known. */
export function encodeReply(prefix: string, ip: string, httpPort?: number): Buffer {
  return Buffer.from(httpPort === undefined ? `${prefix}${ip}` : `${prefix}${ip}:${httpPort}`);
}

/** A reply the original client would accept. */
export interface PlainReply {
  /** The IPv4 address in canonical dotted-decimal form (`192.168.001.010` -> `192.168.1.10`). */
  readonly ip: string;
  /** The IP text exactly as the original client returns it (stripped, otherwise untouched). */
  readonly ipText: string;
  /** The HTTP port, or {@link DEFAULT_HTTP_PORT} when the reply has none. */
  readonly port: number;
  /** Whether the reply carried a port. */
  readonly hasPort: boolean;
}

/**
 * Parses a reply exactly as the original client does (same accepted set, same ip/port), and
 * returns undefined for everything it rejects. Never throws, whatever the bytes.
 *
 * @example parsePlainReply(Buffer.from('SERVER_IP:10.0.0.5'), Buffer.from('SERVER_IP:'))
 *   // { ip: '10.0.0.5', ipText: '10.0.0.5', port: 8000, hasPort: false }
 */
export function parsePlainReply(datagram: Uint8Array, prefix: Uint8Array): PlainReply | undefined {
  const bytes = datagram.subarray(0, REPLY_BUFFER_SIZE);
  if (bytes.byteLength < prefix.byteLength) return undefined;
  if (Buffer.compare(bytes.subarray(0, prefix.byteLength), prefix) !== 0) return undefined;
  const decoded = pyDecodeIgnore(bytes.subarray(prefix.byteLength));
  if (decoded === undefined) return undefined;
  const content = pyStrip(decoded);

  let ipText: string;
  let port = DEFAULT_HTTP_PORT;
  const colon = content.indexOf(':');
  if (colon >= 0) {
    ipText = pyStrip(content.slice(0, colon));
    // int(parts[1].strip()): strip() first, because int() alone keeps \x1c-\x1f (see pyInt).
    const parsed = pyInt(pyStrip(content.slice(colon + 1)));
    if (parsed === undefined || parsed < 1 || parsed > 65535) return undefined;
    port = parsed;
  } else {
    ipText = content;
  }
  if (ipText === '') return undefined;

  const parts = ipText.split('.');
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    const octet = pyInt(part);
    if (octet === undefined || octet < 0 || octet > 255) return undefined;
    octets.push(Math.abs(octet));
  }
  return { ip: octets.join('.'), ipText, port, hasPort: colon >= 0 };
}
