/** Errors shaped like Node's system errors (`code`, `errno`, `syscall`, `address`, `port`). */

const ERRNO: Record<string, number> = {
  EADDRINUSE: -98,
  EADDRNOTAVAIL: -99,
  ENETUNREACH: -101,
  ECONNREFUSED: -111,
  EACCES: -13,
  EINVAL: -22,
  EBADF: -9,
};

/** A system error as `dgram` raises it, e.g. `bind EADDRINUSE 0.0.0.0:5000`. */
export function systemError(
  code: string,
  syscall: string,
  address?: string,
  port?: number,
): NodeJS.ErrnoException & { address?: string; port?: number } {
  const where = address === undefined ? '' : ` ${address}${port === undefined ? '' : `:${port}`}`;
  const error = new Error(`${syscall} ${code}${where}`) as NodeJS.ErrnoException & {
    address?: string;
    port?: number;
  };
  error.code = code;
  error.errno = ERRNO[code] ?? -1;
  error.syscall = syscall;
  if (address !== undefined) error.address = address;
  if (port !== undefined) error.port = port;
  return error;
}

/** The `ERR_SOCKET_DGRAM_NOT_RUNNING` error of a closed socket. */
export function notRunning(): Error {
  const error = new Error('Not running') as NodeJS.ErrnoException;
  error.code = 'ERR_SOCKET_DGRAM_NOT_RUNNING';
  return error;
}
