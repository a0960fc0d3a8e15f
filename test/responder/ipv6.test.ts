/**
 * The responder over IPv6 unicast on loopback (docs/ipv6.md): extended requests sent to [::1]
 * are answered with `address6` ::1; plain requests over IPv6 are not; `family: 'IPv4'` and a
 * host without IPv6 leave the IPv4 responder as it was.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { type BeckonError, createResponder, type DropEvent, generateKey } from '../../src/index.js';
import type { SocketFactory } from '../../src/network/socket.js';
import { decodeAnswer, encodeRequest, verifyTag } from '../../src/protocol/extended.js';
import { recordingLogger } from '../helpers/logger.js';
import { trackResponders } from '../helpers/responders.js';
import { ask, exchange6 } from '../helpers/udp.js';

const startResponder = trackResponders({ rateLimit: 0 });

const extendedRequest = (key?: Buffer) =>
  encodeRequest({ nonce: randomBytes(16), timestamp: Date.now() }, key);

describe('responder over IPv6', () => {
  it('sends IPv6 requesters its IPv6 address even with an (IPv4) advertiseAddress', async () => {
    const responder = await startResponder({ httpPort: 8080, advertiseAddress: '10.9.9.9' });
    const [reply] = await exchange6(responder.port, [extendedRequest()]);
    assert.equal(decodeAnswer(reply as Buffer)?.address, '::1');
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:10.9.9.9:8080']);
  });

  it('answers an extended request from ::1 with address6 ::1', async () => {
    const responder = await startResponder({ httpPort: 8080, instanceId: 'six' });
    const replies: { to: string; address: string }[] = [];
    responder.on('reply', (reply) => replies.push(reply));
    const answers = await exchange6(responder.port, [extendedRequest()]);
    assert.equal(answers.length, 1);
    const answer = decodeAnswer(answers[0] as Buffer);
    assert.equal(answer?.address, '::1');
    assert.equal(answer?.port, 8080);
    assert.equal(answer?.metadata.instanceId, 'six');
    // The IPv6 address travels in the 16-byte address6 field (type 0x18), not in `address`.
    assert.ok((answers[0] as Buffer).includes(Buffer.from([0x18, 16])));
    assert.deepEqual(
      replies.map(({ to, address }) => ({ to, address })),
      [{ to: '::1', address: '::1' }],
    );
  });

  it('gives a plain request over IPv6 no answer; over IPv4 it is answered as before', async () => {
    const responder = await startResponder({ httpPort: 8080 });
    const drops: DropEvent[] = [];
    responder.on('drop', (drop) => drops.push(drop));
    assert.deepEqual(await exchange6(responder.port, [Buffer.from('DISCOVER_SERVER')]), []);
    assert.deepEqual(
      drops.map(({ from, reason }) => ({ from, reason })),
      [{ from: '::1', reason: 'not-a-request' }],
    );
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1:8080']);
  });

  it('answers a signed request over IPv6 with a signed answer in authenticated mode', async () => {
    const key = generateKey();
    const responder = await startResponder({ authKeys: [key] });
    const unsigned = await exchange6(responder.port, [extendedRequest()]);
    assert.deepEqual(unsigned, []);
    const answers = await exchange6(responder.port, [extendedRequest(Buffer.from(key))]);
    assert.equal(answers.length, 1);
    const answer = decodeAnswer(answers[0] as Buffer);
    assert.ok(answer);
    assert.equal(answer.address, '::1');
    assert.ok(verifyTag(answer, [Buffer.from(key)]));
  });

  it('rate-limits IPv6 requesters', async () => {
    const responder = await startResponder({ rateLimit: 1 });
    const drops: DropEvent['reason'][] = [];
    responder.on('drop', (drop) => drops.push(drop.reason));
    const answers = await exchange6(responder.port, [
      extendedRequest(),
      extendedRequest(),
      extendedRequest(),
    ]);
    assert.equal(answers.length, 1);
    assert.deepEqual(drops, ['rate-limited', 'rate-limited']);
  });

  it('answers over IPv6 from a worker thread too', async () => {
    const responder = await startResponder({ worker: true, httpPort: 8080 });
    const answers = await exchange6(responder.port, [extendedRequest()], 1000);
    assert.equal(answers.length, 1);
    assert.equal(decodeAnswer(answers[0] as Buffer)?.address, '::1');
  });

  it('reopens its IPv6 socket after a socket error and keeps answering', async () => {
    const sockets6: Socket[] = [];
    const responder = await startResponder({
      socketFactory: (options) => {
        const socket = createSocket(options);
        if (options.type === 'udp6') sockets6.push(socket);
        return socket;
      },
    });
    const warning = once(responder, 'warning');
    sockets6[0]?.emit('error', Object.assign(new Error('recvmsg failed'), { code: 'ENOBUFS' }));
    const [error] = (await warning) as [BeckonError];
    assert.equal(error.code, 'BECKON_ERR_SOCKET');
    assert.match(error.message, /IPv6/);
    let answers: Buffer[] = [];
    for (let attempt = 0; attempt < 20 && answers.length === 0; attempt++) {
      answers = await exchange6(responder.port, [extendedRequest()], 250);
    }
    assert.equal(sockets6.length, 2, 'a fresh IPv6 socket was bound');
    assert.equal(answers.length, 1);
    assert.equal(decodeAnswer(answers[0] as Buffer)?.address, '::1');
    assert.deepEqual(await ask(responder.port, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1']);
  });

  it("does not listen on IPv6 with family 'IPv4'", async () => {
    const responder = await startResponder({ family: 'IPv4' });
    assert.deepEqual(await exchange6(responder.port, [extendedRequest()]), []);
    assert.equal((await ask(responder.port, 'DISCOVER_SERVER')).length, 1);
  });

  it('refuses an unknown family, naming the option', () => {
    assert.throws(
      () => createResponder({ family: 'IPv7' as 'IPv4' }),
      (error: BeckonError) =>
        error.code === 'BECKON_ERR_INVALID_OPTION' &&
        /family/.test(error.message) &&
        /IPv7/.test(error.message),
    );
  });

  it('keeps running on IPv4, with one warning, when the host has no IPv6', async () => {
    const created: string[] = [];
    const socketFactory: SocketFactory = (options) => {
      created.push(options.type);
      const socket = createSocket(options);
      if (options.type === 'udp6') {
        // What bind reports on a kernel without IPv6.
        socket.bind = (() => {
          setImmediate(() =>
            socket.emit(
              'error',
              Object.assign(new Error('bind EAFNOSUPPORT ::'), {
                code: 'EAFNOSUPPORT',
                syscall: 'bind',
              }),
            ),
          );
          return socket;
        }) as Socket['bind'];
      }
      return socket;
    };
    const logger = recordingLogger();
    const responder = createResponder({
      joinGroups: false,
      port: 0,
      env: {},
      socketFactory,
      logger,
    });
    const events: BeckonError[] = [];
    responder.on('warning', (warning) => events.push(warning));
    try {
      await responder.start();
      assert.ok(responder.listening);
      assert.deepEqual(created, ['udp4', 'udp6']);
      assert.equal(logger.warnings.length, 1);
      assert.match(logger.warnings[0] as string, /IPv6 is not available.*EAFNOSUPPORT.*IPv4 only/);
      assert.equal(events.length, 1);
      assert.deepEqual(await ask(responder.port ?? 0, 'DISCOVER_SERVER'), ['SERVER_IP:127.0.0.1']);
    } finally {
      await responder.stop();
    }
  });
});
