/**
 * For the many-services lab: raw requests to one host's UDP 9999, counting every datagram that
 * comes back (beckon's client would merge them), stamped with the wall clock so that a test can
 * measure from a signal it sent itself (the namespaces share the machine's clock).
 *
 *   probe.ts once <target> <plain|extended> [<waitMs>]
 *       One request; prints `{ "replies": [...] }` with every datagram received within waitMs
 *       (default 1000): `{ "text" }` for a plain reply, `{ "service", "instanceId", "port",
 *       "address" }` for an extended answer.
 *   probe.ts poll <target> <intervalMs>
 *       An extended request every intervalMs, each with its own nonce, until SIGTERM. Prints
 *       `ready` once the socket is bound, then one JSON line per answer:
 *       `{ "sent": <ms since epoch the request was sent>, "at": <ms it arrived>, "service",
 *       "instanceId", "port" }` (the answer echoes its request's nonce).
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { decodeAnswer, encodeRequest, NONCE_SIZE } from '../../../src/protocol/extended.js';

const [mode = 'once', target = '127.0.0.1', third = 'extended', fourth] = process.argv.slice(2);
const PORT = 9999;
const socket = createSocket('udp4');
socket.bind(0);
await once(socket, 'listening');

const now = () => performance.timeOrigin + performance.now();
const extendedRequest = () => {
  const nonce = randomBytes(NONCE_SIZE);
  return { nonce, datagram: encodeRequest({ nonce, timestamp: Date.now() }) };
};

if (mode === 'once') {
  const replies: object[] = [];
  socket.on('message', (message) => {
    const answer = decodeAnswer(message);
    replies.push(
      answer
        ? {
            service: answer.metadata.service,
            instanceId: answer.metadata.instanceId,
            port: answer.port,
            address: answer.address,
          }
        : { text: message.toString('latin1') },
    );
  });
  const datagram = third === 'plain' ? Buffer.from('DISCOVER_SERVER') : extendedRequest().datagram;
  socket.send(datagram, PORT, target);
  await new Promise((resolve) => setTimeout(resolve, Number(fourth ?? 1000)));
  socket.close();
  process.stdout.write(`${JSON.stringify({ replies })}\n`);
} else {
  const sentAt = new Map<string, number>();
  socket.on('message', (message) => {
    const at = now();
    const answer = decodeAnswer(message);
    if (!answer) return;
    const sent = sentAt.get(answer.nonce.toString('hex'));
    if (sent === undefined) return;
    const { service, instanceId } = answer.metadata;
    process.stdout.write(
      `${JSON.stringify({ sent, at, service, instanceId, port: answer.port })}\n`,
    );
  });
  const interval = Number(third);
  const timer = setInterval(() => {
    const { nonce, datagram } = extendedRequest();
    sentAt.set(nonce.toString('hex'), now());
    socket.send(datagram, PORT, target);
  }, interval);
  process.stdout.write('ready\n');
  process.once('SIGTERM', () => {
    clearInterval(timer);
    socket.close();
  });
}
