/** Decoding the hexadecimal addresses of Linux's /proc/net tables. Pure. */
import { endianness } from 'node:os';

/** Whether this host stores words little-endian, as /proc/net prints them. */
export const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * One 32-bit word of a /proc/net address (`0100007F` on a little-endian host) as the number
 * of the IPv4 address it holds (127.0.0.1): the kernel prints the network-order word as a
 * host-order integer.
 */
export function procWord(hex: string, littleEndian = LITTLE_ENDIAN): number {
  const bytes = Buffer.from(hex.padStart(8, '0').slice(-8), 'hex');
  return littleEndian ? bytes.readUInt32LE(0) : bytes.readUInt32BE(0);
}
