/**
 * For the group lab tests: sends one extended request to beckon's group and prints each answer
 * as a JSON line `{ from, address }` (the answer's source and the address it advertises), then
 * exits after argv[5] ms. Never sets SO_BROADCAST: only the group can carry the request.
 *
 * argv: `6 <ifname> <port> - <waitMs>` sends to ff12::6265:636b%<ifname>;
 *       `4 <ifname> <port> <local IPv4 of ifname> <waitMs>` sends to 239.255.98.107 out of it;
 *       `6 - <port> <local IPv6> <waitMs> <IPv6>` sends by unicast from <local> to <IPv6>.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { groupDestination6, IPV4_GROUP } from '../../../src/network/multicast.js';
import { decodeAnswer, encodeRequest } from '../../../src/protocol/extended.js';

const [family = '6', ifname = 'eth0', port = '9999', local = '-', waitMs = '1500', unicast] =
  process.argv.slice(2);
const socket =
  family === '6' ? createSocket({ type: 'udp6', ipv6Only: true }) : createSocket('udp4');
socket.on('message', (message, remote) => {
  const answer = decodeAnswer(message);
  process.stdout.write(`${JSON.stringify({ from: remote.address, address: answer?.address })}\n`);
});
socket.bind(0, family === '6' ? (local === '-' ? '::' : local) : '0.0.0.0');
await once(socket, 'listening');
const request = encodeRequest({ nonce: randomBytes(16), timestamp: Date.now() });
if (unicast !== undefined) {
  socket.send(request, Number(port), unicast);
} else if (family === '6') {
  socket.send(request, Number(port), groupDestination6(ifname));
} else {
  socket.setMulticastInterface(local); // out of this interface; TTL stays 1 (the default)
  socket.send(request, Number(port), IPV4_GROUP);
}
await new Promise((resolve) => setTimeout(resolve, Number(waitMs)));
socket.close();
