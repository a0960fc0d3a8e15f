/**
 * `serviceAddress` with an IPv6 address (an HTTP server on `::1` or one IPv6 address): only
 * requesters that would be sent that address are answered, IPv6 ones over the IPv6 socket; IPv4
 * requesters are `unreachable`. Loopback only.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createResponder, type DropEvent } from '../../src/index.js';
import { decodeAnswer, encodeRequest, NONCE_SIZE } from '../../src/protocol/extended.js';
import { trackResponders } from '../helpers/responders.js';
import { exchange, exchange6 } from '../helpers/udp.js';

const start = trackResponders({ rateLimit: 0 });
const request = () => encodeRequest({ nonce: randomBytes(NONCE_SIZE), timestamp: Date.now() });

describe('serviceAddress with an IPv6 address', () => {
  it('::1: answers ::1 over IPv6; IPv4 requesters are unreachable', async () => {
    const responder = await start({ serviceAddress: '::1', httpPort: 8080 });
    const drops: DropEvent['reason'][] = [];
    responder.on('drop', ({ reason }) => drops.push(reason));
    const answers = await exchange6(responder.port, [request()]);
    assert.equal(answers.length, 1);
    assert.equal(decodeAnswer(answers[0] as Buffer)?.address, '::1');
    assert.deepEqual(
      await exchange(responder.port, [request(), Buffer.from('DISCOVER_SERVER')]),
      [],
    );
    assert.deepEqual(drops, ['unreachable', 'unreachable']);
  });

  it('another IPv6 address: a requester on ::1 (sent ::1) is unreachable', async () => {
    const responder = await start({ serviceAddress: 'fd00:beef::5', httpPort: 8080 });
    const drops: DropEvent['reason'][] = [];
    responder.on('drop', ({ reason }) => drops.push(reason));
    assert.deepEqual(await exchange6(responder.port, [request()]), []);
    assert.deepEqual(drops, ['unreachable']);
  });

  it('is kept in the form answers carry: RFC 5952, no zone; mapped is IPv4; :: is all', () => {
    for (const [given, kept] of [
      ['FD00:BEEF:0:0::05', 'fd00:beef::5'],
      ['fe80::1%eth0', 'fe80::1'],
      ['::ffff:127.0.0.1', '127.0.0.1'],
      ['::', undefined],
      ['0.0.0.0', undefined],
      ['10.0.0.5', '10.0.0.5'],
    ] as const) {
      assert.equal(
        createResponder({ env: {}, serviceAddress: given }).settings.serviceAddress,
        kept,
      );
    }
  });

  it('refuses multicast and text that is no address, naming the option', () => {
    for (const bad of ['ff02::1', 'fe80::1%', 'fe80::1%eth0%eth1', '::1/128', '[::1]', 'here']) {
      assert.throws(
        () => createResponder({ env: {}, serviceAddress: bad }),
        (error: Error) =>
          error.message.startsWith(`Invalid serviceAddress: ${JSON.stringify(bad)}`) &&
          /IPv6 address such as fd00::5/.test(error.message),
        bad,
      );
    }
  });
});
