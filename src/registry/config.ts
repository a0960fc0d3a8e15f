/**
 * The `registry` option (docs/registry.md), shared by the responder, the client and the CLI:
 * a URL `etcd://[user:password@]host[:port][,host[:port]...][/prefix/]` (`etcds://` for TLS),
 * or an object, or the environment. Validation only: nothing here opens a connection or loads
 * the etcd client.
 */
import { readFileSync } from 'node:fs';
import { InvalidOptionError } from '../errors.js';
import { type Env, envValue } from '../options.js';
import { isSafeText, MAX_LEASE_MS } from '../protocol/extended.js';

/** etcd's client port, used when a URL names none. */
export const DEFAULT_ETCD_PORT = 2379;
/** The key prefix of every record, when none is given. */
export const DEFAULT_REGISTRY_PREFIX = 'beckon/';
/** The shortest registry lease, in milliseconds: etcd counts whole seconds. */
export const MIN_REGISTRY_LEASE_MS = 2000;

/** PEM text or a file path, for each part of a TLS setup. */
export interface RegistryTlsOption {
  /** The CA that signed etcd's certificate (PEM text, or the path of a PEM file). */
  readonly ca?: string;
  /** A client certificate, for etcd's `--client-cert-auth` (PEM text or path). */
  readonly cert?: string;
  /** The client certificate's private key (PEM text or path). */
  readonly key?: string;
}

/** The object form of the `registry` option. */
export interface RegistryObjectOption {
  /** An `etcd://` or `etcds://` URL, as the string form takes. Either this or `endpoints`. */
  readonly url?: string;
  /** `host:port` items (or `http://`/`https://` URLs) of the etcd cluster. */
  readonly endpoints?: readonly string[];
  /**
   * etcd user (made with `etcdctl user add`; etcd checks users after `etcdctl auth enable`);
   * overrides one in `url`.
   */
  readonly username?: string;
  /** That user's password; overrides one in `url`. Never logged. */
  readonly password?: string;
  /** TLS: `true` with the system's CAs, or the CA and client certificate (PEM text or paths). */
  readonly tls?: boolean | RegistryTlsOption;
  /** The first part of every key beckon reads and writes. @default 'beckon/' */
  readonly prefix?: string;
  /**
   * The registration's etcd lease, in milliseconds (2,000 to 86,400,000, whole seconds): a
   * responder that dies without a goodbye leaves the registry this long after its last
   * keepalive. @default the responder's `lease` (15,000), at least 2,000
   */
  readonly lease?: number;
}

/** What the `registry` option takes: a URL or an object. */
export type RegistryOption = string | RegistryObjectOption;

/** A validated registry configuration; what {@link openRegistry} connects with. */
export interface RegistrySettings {
  /** The engine behind the adapter. Only etcd for now. */
  readonly engine: 'etcd';
  /** `host:port` of each member, as given. */
  readonly endpoints: readonly string[];
  /** Whether to speak TLS. */
  readonly secure: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  /** The PEM contents (read from files at validation). */
  readonly tls: { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer } | undefined;
  /** Ends with `/`. */
  readonly prefix: string;
  /** Milliseconds; undefined: the responder's `lease`. */
  readonly lease: number | undefined;
  /** For messages: the URL without the password. */
  readonly display: string;
}

/** Where {@link resolveRegistry} reads the option and what it calls it in errors. */
export interface RegistrySources {
  /** The option's name in errors: `registry`, or the CLI flag `--registry`. @default 'registry' */
  readonly option?: string;
  /**
   * Environment variables holding the URL, first set wins (a client may read its own before
   * the shared one). @default ['DISCOVERY_REGISTRY']
   */
  readonly envNames?: readonly string[];
}

/** Environment variables of the registry. `DISCOVERY_REGISTRY` holds the URL. */
export const REGISTRY_ENV = {
  url: 'DISCOVERY_REGISTRY',
  /** CA of etcd's certificate: a PEM file path (or PEM text). Turns TLS on. */
  ca: 'DISCOVERY_REGISTRY_CA',
  /** Client certificate: a PEM file path (or PEM text). */
  cert: 'DISCOVERY_REGISTRY_CERT',
  /** Client key: a PEM file path (or PEM text). */
  key: 'DISCOVERY_REGISTRY_KEY',
} as const;

const URL_ALLOWED =
  'etcd://host:port, etcd://host:port,host:port, etcd://user:password@host:port or etcds://host:port (TLS), optionally ending in /prefix/';
const OBJECT_ALLOWED =
  '{ url } or { endpoints: ["host:port"] }, with optional username, password, tls, prefix and lease';

/**
 * The registry configured by `value` (the option) or else the environment, or undefined when
 * there is none. TLS files named by `DISCOVERY_REGISTRY_CA`/`_CERT`/`_KEY` apply to a URL from
 * the option or the environment, unless the object form has `tls`.
 *
 * @throws {InvalidOptionError} naming the option (or the variable), the value (a password is
 *   never shown) and what is allowed.
 */
export function resolveRegistry(
  value: unknown,
  env: Env,
  sources: RegistrySources = {},
): RegistrySettings | undefined {
  const option = sources.option ?? 'registry';
  if (value === undefined || value === false || value === null) {
    for (const name of sources.envNames ?? [REGISTRY_ENV.url]) {
      const text = envValue(env, name);
      if (text !== undefined) return withEnvTls(parseRegistryUrl(name, text.trim()), env);
    }
    return undefined;
  }
  if (typeof value === 'string') return withEnvTls(parseRegistryUrl(option, value.trim()), env);
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidOptionError(
      option,
      value,
      `a URL (${URL_ALLOWED}) or an object ${OBJECT_ALLOWED}`,
    );
  }
  return parseRegistryObject(option, value as RegistryObjectOption, env);
}

/** Parses the URL form. @throws {InvalidOptionError} naming `option`. */
function parseRegistryUrl(option: string, text: string): RegistrySettings {
  const match = /^(etcds?):\/\/(?:([^@/]*)@)?([^/]*)(\/.*)?$/i.exec(text);
  const fail = (problem?: string): never => {
    throw new InvalidOptionError(
      option,
      redact(text),
      problem ? `${problem}; ${URL_ALLOWED}` : URL_ALLOWED,
    );
  };
  if (!match) return fail();
  const [, scheme = '', userinfo, hosts = '', path] = match;
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    try {
      username = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
      password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1));
    } catch {
      fail('a user or password that is not valid percent-encoding');
    }
    if (!username) fail('an empty user name');
  }
  const endpoints = hosts
    .split(',')
    .map((host) => checkEndpoint(host.trim()) ?? fail(`no valid host:port in "${host}"`));
  let prefix = DEFAULT_REGISTRY_PREFIX;
  if (path !== undefined && path !== '/') {
    try {
      prefix = checkPrefix(option, decodeURIComponent(path.slice(1)));
    } catch {
      fail('a prefix that is not valid percent-encoding or not safe text');
    }
  }
  const secure = scheme.toLowerCase() === 'etcds';
  return {
    engine: 'etcd',
    endpoints,
    secure,
    username,
    password,
    tls: undefined,
    prefix,
    lease: undefined,
    display: displayOf(secure, username, endpoints, prefix),
  };
}

function parseRegistryObject(
  option: string,
  value: RegistryObjectOption,
  env: Env,
): RegistrySettings {
  const known = new Set(['url', 'endpoints', 'username', 'password', 'tls', 'prefix', 'lease']);
  const unknown = Object.keys(value).find((key) => !known.has(key));
  if (unknown !== undefined) {
    throw new InvalidOptionError(`${option}.${unknown}`, '(unknown property)', OBJECT_ALLOWED);
  }
  if ((value.url === undefined) === (value.endpoints === undefined)) {
    throw new InvalidOptionError(
      option,
      describeObject(value),
      `either url or endpoints: ${OBJECT_ALLOWED}`,
    );
  }
  let base: RegistrySettings;
  if (value.url !== undefined) {
    if (typeof value.url !== 'string') {
      throw new InvalidOptionError(`${option}.url`, value.url, URL_ALLOWED);
    }
    base = parseRegistryUrl(`${option}.url`, value.url.trim());
  } else {
    const list = value.endpoints;
    if (!Array.isArray(list) || list.length === 0) {
      throw new InvalidOptionError(
        `${option}.endpoints`,
        list,
        'a non-empty array of "host:port" strings',
      );
    }
    let secure: boolean | undefined;
    const endpoints = list.map((item: unknown) => {
      const text = typeof item === 'string' ? item.trim() : '';
      const scheme = /^(https?):\/\//i.exec(text)?.[1]?.toLowerCase();
      const endpoint = checkEndpoint(
        scheme ? text.slice(scheme.length + 3).replace(/\/$/, '') : text,
      );
      if (
        endpoint === undefined ||
        (scheme && secure !== undefined && secure !== (scheme === 'https'))
      ) {
        throw new InvalidOptionError(
          `${option}.endpoints`,
          item,
          '"host:port" strings (or http:// / https:// URLs, all of one kind)',
        );
      }
      if (scheme) secure = scheme === 'https';
      return endpoint;
    });
    base = {
      engine: 'etcd',
      endpoints,
      secure: secure ?? false,
      username: undefined,
      password: undefined,
      tls: undefined,
      prefix: DEFAULT_REGISTRY_PREFIX,
      lease: undefined,
      display: '',
    };
  }
  const username =
    value.username === undefined
      ? base.username
      : checkCredential(`${option}.username`, value.username, false);
  const password =
    value.password === undefined
      ? base.password
      : checkCredential(`${option}.password`, value.password, true);
  if (password !== undefined && username === undefined) {
    throw new InvalidOptionError(
      `${option}.username`,
      undefined,
      'a user name to go with the password',
    );
  }
  const prefix =
    value.prefix === undefined ? base.prefix : checkPrefix(`${option}.prefix`, value.prefix);
  const lease =
    value.lease === undefined ? undefined : checkRegistryLease(`${option}.lease`, value.lease);
  let tls = base.tls;
  let secure = base.secure;
  if (value.tls === true) secure = true;
  else if (value.tls !== undefined && value.tls !== false) {
    if (typeof value.tls !== 'object' || value.tls === null || Array.isArray(value.tls)) {
      const allowed = 'true, or { ca?, cert?, key? } with PEM text or file paths';
      const given: unknown = value.tls;
      if (typeof given === 'string' && given.includes('-----BEGIN')) {
        // PEM text given as the whole of `tls`: it may be a private key, never shown.
        throw InvalidOptionError.secret(`${option}.tls`, 'PEM text, not an object', allowed);
      }
      throw new InvalidOptionError(`${option}.tls`, value.tls, allowed);
    }
    tls = readTls(option, value.tls);
    secure = true;
  }
  const settings = {
    ...base,
    secure,
    username,
    password,
    tls,
    prefix,
    lease,
    display: displayOf(secure, username, base.endpoints, prefix),
  };
  return value.tls === undefined ? withEnvTls(settings, env) : settings;
}

/** The `lease` of a registry: whole seconds in milliseconds, 2,000 to 86,400,000. */
function checkRegistryLease(option: string, value: unknown): number {
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_REGISTRY_LEASE_MS ||
    value > MAX_LEASE_MS ||
    value % 1000 !== 0
  ) {
    throw new InvalidOptionError(
      option,
      value,
      `whole seconds in milliseconds, from ${MIN_REGISTRY_LEASE_MS} to ${MAX_LEASE_MS}`,
    );
  }
  return value;
}

/** The etcd lease TTL in seconds for a lease of `ms` milliseconds: rounded up, at least 2. */
export function leaseSeconds(ms: number): number {
  return Math.max(MIN_REGISTRY_LEASE_MS / 1000, Math.ceil(ms / 1000));
}

function withEnvTls(settings: RegistrySettings, env: Env): RegistrySettings {
  const ca = envValue(env, REGISTRY_ENV.ca);
  const cert = envValue(env, REGISTRY_ENV.cert);
  const key = envValue(env, REGISTRY_ENV.key);
  if (ca === undefined && cert === undefined && key === undefined) return settings;
  const tls = {
    ...(ca === undefined ? {} : { ca: readPem(REGISTRY_ENV.ca, ca) }),
    ...(cert === undefined ? {} : { cert: readPem(REGISTRY_ENV.cert, cert) }),
    ...(key === undefined ? {} : { key: readPem(REGISTRY_ENV.key, key) }),
  };
  checkPair(tls, REGISTRY_ENV.cert, REGISTRY_ENV.key);
  return {
    ...settings,
    secure: true,
    tls,
    display: displayOf(true, settings.username, settings.endpoints, settings.prefix),
  };
}

function readTls(option: string, value: RegistryTlsOption): RegistrySettings['tls'] {
  const unknown = Object.keys(value).find((key) => key !== 'ca' && key !== 'cert' && key !== 'key');
  if (unknown !== undefined) {
    throw new InvalidOptionError(
      `${option}.tls.${unknown}`,
      '(unknown property)',
      '{ ca?, cert?, key? }',
    );
  }
  const tls = {
    ...(value.ca === undefined ? {} : { ca: readPem(`${option}.tls.ca`, value.ca) }),
    ...(value.cert === undefined ? {} : { cert: readPem(`${option}.tls.cert`, value.cert) }),
    ...(value.key === undefined ? {} : { key: readPem(`${option}.tls.key`, value.key) }),
  };
  checkPair(tls, `${option}.tls.cert`, `${option}.tls.key`);
  return tls;
}

function checkPair(tls: { cert?: Buffer; key?: Buffer }, certName: string, keyName: string): void {
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    const missing = tls.cert === undefined ? certName : keyName;
    throw new InvalidOptionError(
      missing,
      undefined,
      `set together with ${missing === certName ? keyName : certName}`,
    );
  }
}

/** PEM text as given, or the contents of the PEM file it names. */
function readPem(option: string, value: unknown): Buffer {
  const allowed = 'PEM text (-----BEGIN ...) or the path of a readable PEM file';
  if (typeof value !== 'string' || value.trim() === '') {
    throw new InvalidOptionError(option, value, allowed);
  }
  if (value.includes('-----BEGIN')) return Buffer.from(value);
  let contents: Buffer;
  try {
    contents = readFileSync(value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new InvalidOptionError(option, value, `${allowed}; reading it failed: ${code}`);
  }
  if (!contents.includes('-----BEGIN')) {
    throw new InvalidOptionError(option, value, `${allowed}; the file holds no PEM block`);
  }
  return contents;
}

function checkCredential(option: string, value: unknown, secret: boolean): string {
  if (typeof value !== 'string' || value === '' || Buffer.byteLength(value) > 256) {
    if (secret) {
      throw InvalidOptionError.secret(
        option,
        typeof value === 'string'
          ? `${Buffer.byteLength(value)} bytes`
          : `not a string (${typeof value})`,
        'a non-empty string of at most 256 bytes',
      );
    }
    throw new InvalidOptionError(option, value, 'a non-empty string of at most 256 bytes');
  }
  return value;
}

/** A key prefix: safe text up to 128 bytes, without `..`; a `/` is added at the end if missing. */
function checkPrefix(option: string, value: unknown): string {
  if (typeof value !== 'string' || !isSafeText(value, 128) || value.startsWith('/')) {
    throw new InvalidOptionError(
      option,
      value,
      'a non-empty key prefix of at most 128 bytes, without control characters, not starting with /',
    );
  }
  return value.endsWith('/') ? value : `${value}/`;
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** `host:port` with the default port filled in, or undefined. IPv6 in brackets. */
function checkEndpoint(text: string): string | undefined {
  const match = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/i.exec(text);
  if (!match) return undefined;
  const [, host = '', portText] = match;
  const port = portText === undefined ? DEFAULT_ETCD_PORT : Number(portText);
  if (port < 1 || port > 65535) return undefined;
  if (!host.startsWith('[') && !HOSTNAME.test(host)) return undefined;
  return `${host}:${port}`;
}

function displayOf(
  secure: boolean,
  username: string | undefined,
  endpoints: readonly string[],
  prefix: string,
): string {
  const user = username === undefined ? '' : `${encodeURIComponent(username)}@`;
  const path = prefix === DEFAULT_REGISTRY_PREFIX ? '' : `/${prefix}`;
  return `${secure ? 'etcds' : 'etcd'}://${user}${endpoints.join(',')}${path}`;
}

/** A URL as it may be shown: the password replaced by `***`. */
function redact(text: string): string {
  return text.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

function describeObject(value: RegistryObjectOption): string {
  const { password, tls, ...rest } = value;
  return JSON.stringify({
    ...rest,
    ...(password === undefined ? {} : { password: '***' }),
    // PEM text (a private key, maybe): never in a message.
    ...(tls === undefined || typeof tls === 'boolean' ? { tls } : { tls: '***' }),
  });
}
