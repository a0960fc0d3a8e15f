/**
 * For the IPv6 lab: tries every way Node 20 offers to reach an HTTP server at a link-local
 * address, and beckon's IPv6 group over UDP, and prints one JSON line per attempt:
 * `{ "name", "ok", "status"?, "body"?, "code"?, "causeCode"? }`. What works is asserted by
 * test/lab/scenarios/ipv6-url.test.ts and written down in docs/ipv6.md.
 *
 * argv: link-local address of the server (no zone), local interface (the zone), ULA address of
 * the server, HTTP port.
 */
import { createSocket } from 'node:dgram';
import { get, type RequestOptions } from 'node:http';
import { networkInterfaces } from 'node:os';
import { httpRequestTarget, serverUrl } from '../../../src/network/ipv6.js';
import { groupDestination6 } from '../../../src/network/multicast.js';

const [linkLocal = '', zone = '', ula = '', portText = '8080'] = process.argv.slice(2);
const port = Number(portText);
const index = networkInterfaces()[zone]?.find(
  (a) => a.family === 'IPv6' && a.address.startsWith('fe80:'),
)?.scopeid;

function withTimeout<T>(promise: Promise<T>, ms = 4000): Promise<T> {
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref()),
  ]);
}

function httpGet(target: string | RequestOptions): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const request = get(target as RequestOptions, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => {
          body += chunk;
        });
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
    }),
  );
}

async function fetchText(url: string): Promise<{ status: number; body: string }> {
  const response = await withTimeout(fetch(url));
  return { status: response.status, body: await response.text() };
}

function udpGroup(): Promise<{ status: number; body: string }> {
  const socket = createSocket('udp6');
  return withTimeout(
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      socket.on('message', (message, remote) =>
        resolve({
          status: 0,
          body: JSON.stringify({ from: remote.address, said: String(message) }),
        }),
      );
      socket.on('error', reject);
      socket.bind(0, () => {
        socket.send('ping', 9999, groupDestination6(zone), (error) => error && reject(error));
      });
    }),
  ).finally(() => socket.close());
}

const zonedUrl = `http://[${linkLocal}%25${zone}]:${port}/`;
const cases: [string, () => Promise<{ status: number; body: string }>][] = [
  ['fetch zoned %25', () => fetchText(zonedUrl)],
  ['fetch zoned raw %', () => fetchText(`http://[${linkLocal}%${zone}]:${port}/`)],
  ['fetch numeric zone %25<index>', () => fetchText(`http://[${linkLocal}%25${index}]:${port}/`)],
  ['fetch unzoned link-local', () => fetchText(`http://[${linkLocal}]:${port}/`)],
  ['fetch ULA', () => fetchText(`http://[${ula}]:${port}/`)],
  ['new URL zoned', async () => ({ status: 0, body: new URL(zonedUrl).href })],
  ['http.get zoned URL string', () => httpGet(zonedUrl)],
  ['http.get host name zone', () => httpGet({ host: `${linkLocal}%${zone}`, port, path: '/' })],
  ['http.get hostname name zone', () => httpGet({ hostname: `${linkLocal}%${zone}`, port })],
  ['http.get host numeric zone', () => httpGet({ host: `${linkLocal}%${index}`, port })],
  ['http.get host %25 zone', () => httpGet({ host: `${linkLocal}%25${zone}`, port })],
  ['http.get host bracketed', () => httpGet({ host: `[${linkLocal}%${zone}]`, port })],
  ['http.get host unzoned', () => httpGet({ host: linkLocal, port })],
  [
    'http.get httpRequestTarget(serverUrl())',
    () => {
      const target = httpRequestTarget(serverUrl('http', `${linkLocal}%${zone}`, port) ?? '');
      if (!target) throw new Error('no target');
      return httpGet({ ...target, headers: { ...target.headers } });
    },
  ],
  ['udp6 send to group%zone', udpGroup],
];

for (const [name, attempt] of cases) {
  try {
    const { status, body } = await attempt();
    process.stdout.write(`${JSON.stringify({ name, ok: true, status, body })}\n`);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
    process.stdout.write(
      `${JSON.stringify({ name, ok: false, code: e.code, causeCode: e.cause?.code, message: e.message })}\n`,
    );
  }
}
process.exit(0); // keep-alive sockets must not hold the run
