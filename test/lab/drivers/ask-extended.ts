/**
 * For lab hosts: sends one extended request to each target (`address`, IPv4 or IPv6, zoned when
 * link-local) on UDP port argv[2], and prints one JSON line per target with the answers it got
 * within 1.5 s: `{ "target", "answers": [{ "from", "address", "port" }] }`.
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { isIPv6 } from 'node:net';
import { decodeAnswer, encodeRequest, NONCE_SIZE } from '../../../src/protocol/extended.js';

const [portText = '9999', ...targets] = process.argv.slice(2);
for (const target of targets) {
  const socket = createSocket(isIPv6(target.split('%')[0] ?? '') ? 'udp6' : 'udp4');
  const answers: { from: string; address: string | undefined; port: number | undefined }[] = [];
  socket.on('message', (message, remote) => {
    const answer = decodeAnswer(message);
    answers.push({ from: remote.address, address: answer?.address, port: answer?.port });
  });
  socket.bind(0);
  await once(socket, 'listening');
  const request = encodeRequest({ nonce: randomBytes(NONCE_SIZE), timestamp: Date.now() });
  socket.send(request, Number(portText), target);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  socket.close();
  process.stdout.write(`${JSON.stringify({ target, answers })}\n`);
}
