/**
 * Is a server really up? (`verify`, docs/presence.md): its advertised URL accepts a TCP
 * connection, or answers an HTTP request. A discovery answer says a responder is alive; this
 * says the app behind it is.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Server } from './server.js';

/** How a server is checked. */
export type VerifyMode = 'tcp' | 'http';

/** How long one check may take, in milliseconds. */
export const VERIFY_TIMEOUT_MS = 1000;

/**
 * Resolves true when `server` passes the check within `timeoutMs`, false otherwise (refused,
 * reset, timed out, aborted). Never rejects. `http`: any HTTP response counts, whatever its
 * status (a 404 is an app that works); `https` servers are asked over TLS without checking the
 * certificate (this is about being up, not about who it is).
 */
export function verifyServer(
  server: Pick<Server, 'ip' | 'port' | 'url'>,
  mode: VerifyMode,
  timeoutMs = VERIFY_TIMEOUT_MS,
  signal?: AbortSignal,
): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean, close: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      close();
      resolve(ok);
    };
    let close = () => {};
    const onAbort = () => done(false, close);
    const timer = setTimeout(onAbort, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) return onAbort();
    if (mode === 'tcp') {
      const socket = connect({ host: server.ip, port: server.port });
      close = () => socket.destroy();
      socket.once('connect', () => done(true, close));
      socket.once('error', () => done(false, close));
      return;
    }
    const https = server.url.startsWith('https:');
    const request = (https ? httpsRequest : httpRequest)({
      host: server.ip,
      port: server.port,
      path: '/',
      method: 'GET',
      headers: { 'user-agent': 'beckon-verify' },
      ...(https ? { rejectUnauthorized: false } : {}),
    });
    close = () => request.destroy();
    request.once('response', (response) => {
      response.resume();
      done(true, close);
    });
    request.once('error', () => done(false, close));
    request.end();
  });
}
