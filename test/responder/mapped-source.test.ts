/**
 * IPv4-mapped sources (`::ffff:a.b.c.d`) and the responder's IPv6 socket, which is `ipv6Only`:
 * an IPv4 datagram sent from a dual-stack socket arrives on the IPv4 socket, from the plain IPv4
 * address, and is answered as over IPv4; a mapped source on the IPv6 socket (which the kernel
 * never delivers there) would be refused. Loopback only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type RemoteInfo, type Socket, type SocketOptions } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import type { DropEvent, ReplyEvent } from '../../src/index.js';
import { decodeAnswer, encodeRequest, Field, NONCE_SIZE } from '../../src/protocol/extended.js';
import { trackResponders } from '../helpers/responders.js';
import { sleep } from '../helpers/udp.js';

const start = trackResponders({ rateLimit: 0 });
const request = () => encodeRequest({ nonce: randomBytes(NONCE_SIZE), timestamp: Date.now() });

describe('IPv4-mapped sources', () => {
  it('from a dual-stack socket to ::ffff:127.0.0.1: answered on the IPv4 socket, as IPv4', async () => {
    const responder = await start({ httpPort: 8080 });
    const replies: ReplyEvent[] = [];
    responder.on('reply', (reply) => replies.push(reply));
    const client = createSocket({ type: 'udp6', ipv6Only: false });
    const received: { message: Buffer; remote: RemoteInfo }[] = [];
    client.on('message', (message, remote) => received.push({ message, remote }));
    try {
      client.bind(0, '::');
      await once(client, 'listening');
      // A plain request: the IPv6 socket would drop it as not-a-request, the IPv4 one answers.
      client.send('DISCOVER_SERVER', responder.port, '::ffff:127.0.0.1');
      client.send(request(), responder.port, '::ffff:127.0.0.1');
      for (let i = 0; i < 300 && received.length < 2; i++) await sleep(10);
    } finally {
      client.close();
    }
    assert.equal(received.length, 2);
    assert.equal(String(received[0]?.message), 'SERVER_IP:127.0.0.1:8080');
    assert.equal(received[0]?.remote.address, '::ffff:127.0.0.1');
    const answer = received[1]?.message as Buffer;
    assert.equal(decodeAnswer(answer)?.address, '127.0.0.1');
    assert.ok(!answer.includes(Buffer.from([Field.address6, 16])), 'address6 in an IPv4 answer');
    // The responder saw the IPv4 address, never the mapped form.
    assert.deepEqual(
      replies.map(({ to }) => to),
      ['127.0.0.1', '127.0.0.1'],
    );
  });

  it('the IPv6 socket is ipv6Only, and a mapped source there would be refused', async () => {
    const sockets6: { socket: Socket; options: SocketOptions }[] = [];
    const responder = await start({
      socketFactory: (options) => {
        const socket = createSocket(options);
        if (options.type === 'udp6') sockets6.push({ socket, options });
        return socket;
      },
    });
    assert.equal(sockets6.length, 1);
    assert.equal(sockets6[0]?.options.ipv6Only, true);
    const drops: DropEvent[] = [];
    const replies: ReplyEvent[] = [];
    responder.on('drop', (drop) => drops.push(drop));
    responder.on('reply', (reply) => replies.push(reply));
    // What the kernel never does on an ipv6Only socket: deliver an IPv4 datagram, mapped.
    const rinfo: RemoteInfo = { address: '::ffff:127.0.0.1', family: 'IPv6', port: 40000, size: 0 };
    for (const message of [request(), Buffer.from('DISCOVER_SERVER')]) {
      sockets6[0]?.socket.emit('message', message, { ...rinfo, size: message.byteLength });
    }
    assert.deepEqual(
      drops.map(({ from, reason }) => ({ from, reason })),
      [
        { from: '::ffff:127.0.0.1', reason: 'invalid-source' },
        { from: '::ffff:127.0.0.1', reason: 'invalid-source' },
      ],
    );
    assert.deepEqual(replies, []);
    assert.equal(responder.listening, true);
  });
});
