/**
 * For the IPv6 lab: an HTTP server on [::]:PORT (argv[2]) that answers with what it saw (Host
 * header, peer address) as JSON, and a UDP socket on [::]:9999 that joins beckon's IPv6 group on
 * interface argv[3] and answers every datagram with `pong` and the peer address it saw. Prints
 * `ready` when both listen. Stops on SIGTERM.
 */
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer } from 'node:http';
import { IPV6_GROUP, membershipInterface6 } from '../../../src/network/multicast.js';

const [port = '8080', iface = 'eth0'] = process.argv.slice(2);
const server = createServer((request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ host: request.headers.host, peer: request.socket.remoteAddress }));
});
server.listen(Number(port), '::');
await once(server, 'listening');

const udp = createSocket({ type: 'udp6', ipv6Only: true });
udp.on('message', (_message, remote) => {
  udp.send(`pong ${remote.address}`, remote.port, remote.address);
});
udp.bind(9999, '::');
await once(udp, 'listening');
udp.addMembership(IPV6_GROUP, membershipInterface6(iface));
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  server.close();
  udp.close();
});
