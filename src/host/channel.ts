/** Where the host-local channel lives (docs/many-services.md). */
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The channel for discovery port `port`: the Linux abstract socket `\0beckon/<port>`, elsewhere
 * the socket file `beckon-<port>.sock` in os.tmpdir() (Windows: a named pipe).
 */
export function channelPath(port: number, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'linux') return `\0beckon/${port}`;
  if (platform === 'win32') return `\\\\.\\pipe\\beckon-${port}`;
  return join(tmpdir(), `beckon-${port}.sock`);
}

/** True for a Linux abstract socket name (no file to create or remove). */
export function isAbstract(path: string): boolean {
  return path.startsWith('\0');
}
