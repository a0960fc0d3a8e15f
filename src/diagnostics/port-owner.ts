/**
 * Who holds a UDP port on this host: the sockets bound to it (from /proc/net/udp and udp6 on
 * Linux), the processes that own them (from /proc/<pid>/fd), and a bind test everywhere.
 */
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { formatIPv4 } from '../network/ipv4.js';
import { runsBeckonCli } from './beckon-process.js';
import { LITTLE_ENDIAN, procWord } from './proc-net.js';

/** A UDP socket bound to the port. */
export interface BoundSocket {
  /** The local address it is bound to: `0.0.0.0`, `127.0.0.1`, `::`... */
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly inode: number;
  readonly uid: number;
}

/** A process that holds one of the sockets. */
export interface PortHolder {
  readonly pid: number;
  /** Its command line, shortened to 200 characters. */
  readonly command: string;
  readonly uid: number;
  readonly address: string;
  /**
   * It runs beckon's CLI: an argument of its command line is, by real path, the `bin` entry of
   * an installed `beckon` package. A path that merely contains "beckon" does not count.
   */
  readonly beckon: boolean;
}

/**
 * Reads the sockets bound to `port` from the text of /proc/net/udp (`family` IPv4) or
 * /proc/net/udp6 (IPv6). Pure. Addresses there are hexadecimal words in host byte order.
 */
export function parseProcNetUdp(
  text: string,
  port: number,
  family: 'IPv4' | 'IPv6',
  littleEndian = LITTLE_ENDIAN,
): BoundSocket[] {
  const sockets: BoundSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [local, uid, inode] = [fields[1], fields[7], fields[9]];
    if (!local || !uid || !inode) continue;
    const [hexAddress = '', hexPort = ''] = local.split(':');
    if (Number.parseInt(hexPort, 16) !== port) continue;
    const words = (hexAddress.match(/.{8}/g) ?? []).map((word) => procWord(word, littleEndian));
    sockets.push({
      address: family === 'IPv4' ? formatIPv4(words[0] ?? 0) : formatIPv6Words(words),
      family,
      inode: Number(inode),
      uid: Number(uid),
    });
  }
  return sockets;
}

function formatIPv6Words(words: readonly number[]): string {
  if (words.every((word) => word === 0)) return '::';
  if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff)
    return `::ffff:${formatIPv4(words[3] ?? 0)}`;
  const groups = words.flatMap((word) => [
    (word >>> 16).toString(16),
    (word & 0xffff).toString(16),
  ]);
  return groups.join(':');
}

/** The sockets bound to UDP `port`, from /proc; empty where there is no /proc. */
export function boundSockets(port: number, procRoot = '/proc'): BoundSocket[] {
  const read = (file: string) => {
    try {
      return readFileSync(`${procRoot}/net/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  return [
    ...parseProcNetUdp(read('udp'), port, 'IPv4'),
    ...parseProcNetUdp(read('udp6'), port, 'IPv6'),
  ];
}

/**
 * The processes holding `sockets`, found by their file descriptors. Only root sees other
 * users' processes; a socket nobody visible holds is left out.
 */
export function socketHolders(sockets: readonly BoundSocket[], procRoot = '/proc'): PortHolder[] {
  const byInode = new Map(sockets.map((socket) => [`socket:[${socket.inode}]`, socket]));
  const holders: PortHolder[] = [];
  if (byInode.size === 0) return holders;
  let pids: string[];
  try {
    pids = readdirSync(procRoot).filter((name) => /^\d+$/.test(name));
  } catch {
    return holders;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const socket = byInode.get(target);
      if (!socket) continue;
      const argv = readArgv(procRoot, pid);
      holders.push({
        pid: Number(pid),
        command: argv ? shorten(argv.join(' ')) : '?',
        uid: socket.uid,
        address: socket.address,
        beckon: argv !== undefined && runsBeckonCli(argv, readCwd(procRoot, pid)),
      });
      break;
    }
  }
  return holders;
}

function readArgv(procRoot: string, pid: string): string[] | undefined {
  try {
    return readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** The process's working directory, against which its relative arguments resolve. */
function readCwd(procRoot: string, pid: string): string | undefined {
  try {
    return readlinkSync(`${procRoot}/${pid}/cwd`);
  } catch {
    return undefined;
  }
}

function shorten(command: string): string {
  return command.length > 200 ? `${command.slice(0, 199)}…` : command;
}

/**
 * Whether UDP `port` can be bound on all IPv4 addresses right now: `free`, `in-use`, or
 * `forbidden` (a privileged port), by binding it exclusively and letting go at once.
 */
export function bindTest(port: number): Promise<'free' | 'in-use' | 'forbidden'> {
  return new Promise((resolve) => {
    const socket = createSocket({ type: 'udp4' });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      socket.close();
      resolve(error.code === 'EACCES' ? 'forbidden' : 'in-use');
    });
    socket.bind({ port, address: '0.0.0.0', exclusive: true }, () => {
      socket.close(() => resolve('free'));
    });
  });
}

/**
 * Who holds UDP `port`, in a few words for a message (`pid 4242 (python3 manage.py runserver)`),
 * or undefined where it cannot be found (no /proc, another user's process without root).
 */
export function describePortHolder(port: number, procRoot = '/proc'): string | undefined {
  let holders: PortHolder[];
  try {
    holders = socketHolders(boundSockets(port, procRoot), procRoot);
  } catch {
    return undefined;
  }
  const [first] = holders;
  if (!first) return undefined;
  const command = first.command.length > 80 ? `${first.command.slice(0, 79)}…` : first.command;
  return `pid ${first.pid} (${command})`;
}

/**
 * Why a responder could not have UDP `port`: it is held by something that does not share it
 * (named, where the holder can be found), or this responder does not share (`shareHost` off,
 * Fernet mode, a custom message or prefix). See docs/many-services.md.
 */
export function portHeldMessage(port: number, shares: boolean): string {
  const holder = describePortHolder(port);
  if (!shares) {
    return `UDP port ${port} is taken${holder ? ` by ${holder}` : ''}, and this responder does not share it (shareHost off, Fernet mode, or a custom message or prefix).`;
  }
  return `UDP port ${port} is held by ${holder ?? 'another process'}, which is not a beckon responder that shares the port with this host's other services (run \`beckon doctor\` for details).`;
}
