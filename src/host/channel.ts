/** Where the host-local channel lives (docs/many-services.md). */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes of `sun_path`: the whole of a Linux abstract socket's name. */
const SUN_PATH_BYTES = 108;

/**
 * The channel for discovery port `port`: the Linux abstract socket `\0beckon/<port>` padded
 * with NULs to the full 108 bytes of `sun_path`, elsewhere the socket file `beckon-<port>.sock`
 * in os.tmpdir() (Windows: a named pipe).
 *
 * Why padded: Node 20 binds and connects every abstract name over the full `sun_path` (libuv
 * before 1.48), later versions over the name's own length. Spelled out to 108 bytes, the name is
 * the same for both, and for a client in another language.
 */
export function channelPath(port: number, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'linux') return `\0beckon/${port}`.padEnd(SUN_PATH_BYTES, '\0');
  if (platform === 'win32') return `\\\\.\\pipe\\beckon-${port}`;
  return join(tmpdir(), `beckon-${port}.sock`);
}

/** True for a Linux abstract socket name (no file to create or remove). */
export function isAbstract(path: string): boolean {
  return path.startsWith('\0');
}
