/**
 * An in-memory datagram socket: the parts of `node:dgram`'s `Socket` beckon uses, on a
 * simulated host. It opens nothing real; the host (src/testing/network.ts) routes its datagrams.
 */
import { EventEmitter } from 'node:events';
import { type Address, isMulticast, parseAddress } from './addresses.js';
import { notRunning, systemError } from './errors.js';

/** What a socket asks of the host it lives on. */
export interface SocketHost {
  /** Takes `port` (0: an ephemeral one) on `address`; returns the port, or throws the error. */
  bind(socket: TestSocket, address: Address, port: number): number;
  /** Routes a datagram; returns an error to report, or undefined when it left. */
  send(socket: TestSocket, data: Buffer, port: number, to: Address): Error | undefined;
  /** The local address a datagram to `to` would leave from; an error when there is no route. */
  source(socket: TestSocket, to: Address): Address | Error;
  /** Forgets the socket (closed). */
  release(socket: TestSocket): void;
  /** Resolves a membership's interface (an address, or `::%name`) to a link name. */
  membershipLink(socket: TestSocket, via: string | undefined): string | undefined;
}

/** The subset of `dgram.SocketOptions` the simulation reads. */
export interface TestSocketOptions {
  readonly type: 'udp4' | 'udp6';
  readonly reuseAddr?: boolean;
  readonly ipv6Only?: boolean;
  readonly recvBufferSize?: number;
  readonly sendBufferSize?: number;
}

type Callback = (error: Error | null, bytes?: number) => void;

/** A simulated UDP socket, used where beckon expects a `dgram.Socket`. */
export class TestSocket extends EventEmitter {
  /** `udp4` or `udp6`. */
  readonly type: 'udp4' | 'udp6';
  /** SO_REUSEADDR. */
  readonly reuseAddr: boolean;
  /** The local address once bound (wildcard when bound to any). */
  local: Address | undefined;
  /** The local port once bound. */
  port = 0;
  /** The remote end after `connect()`. */
  remote: { address: Address; port: number } | undefined;
  /** SO_BROADCAST. */
  broadcast = false;
  /** IP_MULTICAST_LOOP. */
  multicastLoop = true;
  /** The link outgoing multicast leaves by (`setMulticastInterface`). */
  multicastInterface: string | undefined;
  /** Groups joined, as `group|link`. */
  readonly memberships = new Set<string>();
  #closed = false;
  /** A `connect()` is under way (its remote is set on the next tick). */
  #connecting = false;
  #recvBufferSize: number;
  #sendBufferSize: number;
  readonly #host: SocketHost;

  constructor(host: SocketHost, options: TestSocketOptions) {
    super();
    this.#host = host;
    this.type = options.type;
    this.reuseAddr = options.reuseAddr ?? false;
    this.#recvBufferSize = options.recvBufferSize ?? 212992;
    this.#sendBufferSize = options.sendBufferSize ?? 212992;
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The family of this socket's addresses. */
  get family(): 'IPv4' | 'IPv6' {
    return this.type === 'udp6' ? 'IPv6' : 'IPv4';
  }

  /** `bind(port?, address?, cb?)` or `bind({ port, address }, cb?)`, as in `node:dgram`. */
  bind(...args: unknown[]): this {
    let port = 0;
    let address: string | undefined;
    let callback: (() => void) | undefined;
    const [first, second, third] = args;
    if (typeof first === 'object' && first !== null) {
      const options = first as { port?: number; address?: string };
      port = options.port ?? 0;
      address = options.address;
      if (typeof second === 'function') callback = second as () => void;
    } else {
      if (typeof first === 'number') port = first;
      if (typeof second === 'string') address = second;
      const last = [first, second, third].find((arg) => typeof arg === 'function');
      callback = last as (() => void) | undefined;
    }
    this.#checkOpen();
    if (this.local)
      throw Object.assign(new Error('Socket is already bound'), {
        code: 'ERR_SOCKET_ALREADY_BOUND',
      });
    const wildcard = this.type === 'udp6' ? '::' : '0.0.0.0';
    const parsed = parseAddress(address ?? wildcard);
    process.nextTick(() => {
      if (this.#closed) return;
      if (!parsed || parsed.family !== this.family) {
        this.emit('error', systemError('EINVAL', 'bind', address, port));
        return;
      }
      try {
        this.port = this.#host.bind(this, parsed, port);
        this.local = parsed;
      } catch (error) {
        this.emit('error', error);
        return;
      }
      callback?.();
      this.emit('listening');
    });
    return this;
  }

  /** `send(msg, port, address, cb?)` or `send(msg, offset, length, port, address, cb?)`. */
  send(message: unknown, ...args: unknown[]): void {
    this.#checkOpen();
    let data = toBuffer(message);
    let rest = args;
    if (typeof args[0] === 'number' && typeof args[1] === 'number' && typeof args[2] === 'number') {
      data = data.subarray(args[0], args[0] + args[1]);
      rest = args.slice(2);
    }
    const callback = rest.find((arg) => typeof arg === 'function') as Callback | undefined;
    let port = typeof rest[0] === 'number' ? rest[0] : undefined;
    let address = typeof rest[1] === 'string' ? rest[1] : undefined;
    if (this.remote) {
      port ??= this.remote.port;
      address ??= this.remote.address.text;
    }
    const to = parseAddress(address ?? (this.type === 'udp6' ? '::1' : '127.0.0.1'));
    const copy = Buffer.from(data);
    const finish = (error: Error | undefined) => {
      if (callback) callback(error ?? null, error ? undefined : copy.length);
      else if (error) this.emit('error', error);
    };
    // The datagram leaves at once (a close() right after send() does not stop it, as with
    // dgram and an IP literal); the callback runs on the next tick.
    const go = () => {
      const error =
        !to || to.family !== this.family || port === undefined
          ? systemError('EINVAL', 'send', address, port)
          : this.#host.send(this, copy, port, to);
      process.nextTick(finish, error);
    };
    if (!this.local) {
      // An implicit bind, as dgram does on the first send.
      this.bind(0, () => go());
    } else {
      go();
    }
  }

  /**
   * Connects to `port` on `address`: binds implicitly to the address the route leaves by. Throws
   * `ERR_SOCKET_DGRAM_IS_CONNECTED` when connected or connecting already, as `dgram` does.
   */
  connect(port: number, address?: string | (() => void), callback?: (error?: Error) => void): void {
    this.#checkOpen();
    if (this.remote || this.#connecting) {
      throw Object.assign(new Error('Already connected'), {
        code: 'ERR_SOCKET_DGRAM_IS_CONNECTED',
      });
    }
    this.#connecting = true;
    const done = typeof address === 'function' ? address : callback;
    const to = parseAddress(typeof address === 'string' ? address : '127.0.0.1');
    process.nextTick(() => {
      this.#connecting = false;
      if (this.#closed) return;
      if (!to || to.family !== this.family) {
        const error = systemError('EINVAL', 'connect', String(address), port);
        if (done) done(error);
        else this.emit('error', error);
        return;
      }
      const source = this.#host.source(this, to);
      if (source instanceof Error) {
        if (done) done(source);
        else this.emit('error', source);
        return;
      }
      try {
        if (!this.local) {
          this.port = this.#host.bind(this, source, 0);
          this.local = source;
        }
      } catch (error) {
        if (done) done(error as Error);
        else this.emit('error', error);
        return;
      }
      this.remote = { address: to, port };
      done?.();
      this.emit('connect');
    });
  }

  /** Forgets the connected remote. */
  disconnect(): void {
    if (!this.remote)
      throw Object.assign(new Error('Not connected'), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    this.remote = undefined;
  }

  /** The connected remote, as `dgram` reports it. */
  remoteAddress(): { address: string; family: string; port: number } {
    if (!this.remote)
      throw Object.assign(new Error('Not connected'), { code: 'ERR_SOCKET_DGRAM_NOT_CONNECTED' });
    return { address: this.remote.address.text, family: this.family, port: this.remote.port };
  }

  /**
   * The bound address; throws `EBADF` before `bind` and `ERR_SOCKET_DGRAM_NOT_RUNNING` after
   * `close()`, as `dgram` does.
   */
  address(): { address: string; family: string; port: number } {
    this.#checkOpen();
    if (!this.local) throw systemError('EBADF', 'getsockname');
    return { address: this.local.text, family: this.family, port: this.port };
  }

  /** Closes the socket; `close` is emitted on the next tick. */
  close(callback?: () => void): this {
    this.#checkOpen();
    this.#closed = true;
    this.#host.release(this);
    if (callback) this.once('close', callback);
    process.nextTick(() => this.emit('close'));
    return this;
  }

  /** SO_BROADCAST: needed to send to a broadcast address (else `EACCES`). */
  setBroadcast(flag: boolean): void {
    this.#checkBound('setBroadcast');
    this.broadcast = flag;
  }

  /** Accepted and ignored: the simulation has no routers that count hops of multicast. */
  setMulticastTTL(ttl: number): number {
    this.#checkBound('setMulticastTTL');
    return ttl;
  }

  /** Accepted and ignored. */
  setTTL(ttl: number): number {
    this.#checkBound('setTTL');
    return ttl;
  }

  /** IP_MULTICAST_LOOP: whether this host hears its own multicast. */
  setMulticastLoopback(flag: boolean): boolean {
    this.#checkBound('setMulticastLoopback');
    this.multicastLoop = flag;
    return flag;
  }

  /** The link outgoing multicast leaves by: an IPv4 address, or `::%name` for IPv6. */
  setMulticastInterface(via: string): void {
    this.#checkBound('setMulticastInterface');
    const link = this.#host.membershipLink(this, via);
    if (link === undefined) throw systemError('EADDRNOTAVAIL', 'setMulticastInterface');
    this.multicastInterface = link;
  }

  /**
   * Joins `group` on the link of `via`; `EADDRINUSE` when already a member there, `EINVAL` when
   * `group` is not a multicast address (or an IPv6 one on a `udp4` socket), as on Linux.
   */
  addMembership(group: string, via?: string): void {
    this.#checkOpen();
    const parsed = parseAddress(group);
    const link = this.#host.membershipLink(this, via);
    const usable =
      parsed !== undefined &&
      isMulticast(parsed) &&
      !(parsed.family === 'IPv6' && this.family === 'IPv4');
    if (!usable || link === undefined) throw systemError('EINVAL', 'addMembership');
    const key = `${parsed.text}|${link}`;
    if (this.memberships.has(key)) throw systemError('EADDRINUSE', 'addMembership');
    this.memberships.add(key);
  }

  /** Leaves `group` on the link of `via`; `EADDRNOTAVAIL` when not a member there. */
  dropMembership(group: string, via?: string): void {
    this.#checkOpen();
    const parsed = parseAddress(group);
    const link = this.#host.membershipLink(this, via);
    const key = `${parsed?.text}|${link}`;
    if (!this.memberships.delete(key)) throw systemError('EADDRNOTAVAIL', 'dropMembership');
  }

  /** Source-specific groups are joined like any-source ones here. */
  addSourceSpecificMembership(_source: string, group: string, via?: string): void {
    this.addMembership(group, via);
  }

  /** See {@link addSourceSpecificMembership}. */
  dropSourceSpecificMembership(_source: string, group: string, via?: string): void {
    this.dropMembership(group, via);
  }

  setRecvBufferSize(size: number): void {
    this.#checkBound('setRecvBufferSize');
    this.#recvBufferSize = size;
  }

  getRecvBufferSize(): number {
    this.#checkBound('getRecvBufferSize');
    return this.#recvBufferSize;
  }

  setSendBufferSize(size: number): void {
    this.#checkBound('setSendBufferSize');
    this.#sendBufferSize = size;
  }

  getSendBufferSize(): number {
    this.#checkBound('getSendBufferSize');
    return this.#sendBufferSize;
  }

  /** No handle keeps the process alive here: a no-op. */
  ref(): this {
    return this;
  }

  /** See {@link ref}. */
  unref(): this {
    return this;
  }

  /** Hands a datagram to the `message` listeners (called by the host). */
  deliver(data: Buffer, from: { address: string; port: number }): void {
    if (this.#closed) return;
    if (
      this.remote &&
      (this.remote.port !== from.port || this.remote.address.text !== from.address.split('%')[0])
    ) {
      return;
    }
    this.emit('message', Buffer.from(data), {
      address: from.address,
      family: this.family,
      port: from.port,
      size: data.length,
    });
  }

  #checkOpen(): void {
    if (this.#closed) throw notRunning();
  }

  #checkBound(syscall: string): void {
    this.#checkOpen();
    if (!this.local) throw systemError('EBADF', syscall);
  }
}

function toBuffer(message: unknown): Buffer {
  if (Buffer.isBuffer(message)) return message;
  if (typeof message === 'string') return Buffer.from(message);
  if (Array.isArray(message)) return Buffer.concat(message.map(toBuffer));
  if (message instanceof Uint8Array) return Buffer.from(message);
  throw new TypeError('The "msg" argument must be a Buffer, a string or an array of them');
}
