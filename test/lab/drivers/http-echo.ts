/**
 * For the IPv6 lab: a plain HTTP server on [::]:PORT (argv[2]; both families) that answers every
 * request with what it saw as JSON: `{ "app": "lab echo", "host": <Host header>, "peer": <peer
 * address> }`. Prints `ready` once it listens. Stops on SIGTERM.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';

const server = createServer((request, response) => {
  response.setHeader('content-type', 'application/json');
  const seen = { app: 'lab echo', host: request.headers.host, peer: request.socket.remoteAddress };
  response.end(JSON.stringify(seen));
});
server.listen(Number(process.argv[2] ?? 8080), '::');
await once(server, 'listening');
process.stdout.write('ready\n');
process.once('SIGTERM', () => server.close());
