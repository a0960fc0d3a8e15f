/** The check every framework integration must pass, on loopback. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { discoverOne } from '../../src/index.js';
import type { DiscoveryHandle } from '../../src/integrations/http.js';
import { decodeAnswer, encodeRequest, Field, NONCE_SIZE } from '../../src/protocol/extended.js';
import { ask, exchange, exchange6, LOCAL } from './udp.js';

/**
 * Asserts that `handle` answers, advertising `boundPort`, and that the advertised URL serves
 * `body`. Then runs `close` (the app's own shutdown) and asserts that nothing answers any more.
 */
export async function assertDiscoverableUntilClosed(
  handle: DiscoveryHandle,
  boundPort: number,
  body: string,
  close: () => Promise<unknown>,
): Promise<void> {
  assert.equal(await handle.settled(), 'answering');
  const udpPort = handle.responder?.port;
  assert.ok(udpPort, 'no UDP port');
  const found = await discoverOne({ ...LOCAL, port: udpPort, timeout: 2000 });
  assert.ok(found, 'not discovered');
  assert.equal(found.port, boundPort);
  assert.equal(found.url, `http://127.0.0.1:${boundPort}`);
  const response = await fetch(found.url);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), body);

  await close();
  assert.equal(handle.responder, undefined);
  assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER', 300), []);
}

/**
 * Asserts what extended requests get from discovery attached to a server listening on `host`
 * (`::` or `::1`): over IPv6, from [::1] to [::1], an answer carrying `boundPort` and ::1 in its
 * `address6` field, whose URL serves `body`; over IPv4, from 127.0.0.1, the same with 127.0.0.1
 * when the server listens on `::`, and no answer at all when it listens on `::1` only. Then runs
 * `close` and asserts that IPv6 requests get no answer any more.
 */
export async function assertDiscoverableOverIPv6(
  handle: DiscoveryHandle,
  boundPort: number,
  body: string,
  host: '::' | '::1',
  close: () => Promise<unknown>,
): Promise<void> {
  assert.equal(await handle.settled(), 'answering');
  const responder = handle.responder;
  const udpPort = responder?.port;
  assert.ok(responder && udpPort, 'no UDP port');
  assert.equal(responder.settings.family, host === '::' ? 'any' : 'IPv6');
  const request = () => encodeRequest({ nonce: randomBytes(NONCE_SIZE), timestamp: Date.now() });

  const [reply, ...more] = await exchange6(udpPort, [request()]);
  assert.ok(reply, `no answer over IPv6 from a server on ${host}`);
  assert.equal(more.length, 0);
  // address6 (type 0x18, 16 bytes), not the 4-byte address field.
  assert.ok(reply.includes(Buffer.from([Field.address6, 16])), 'no address6 field');
  const answer = decodeAnswer(reply);
  assert.equal(answer?.address, '::1');
  assert.equal(answer?.port, boundPort);
  const response = await fetch(`http://[::1]:${boundPort}/`);
  assert.equal(response.status, 200);
  assert.equal(await response.text(), body);

  const drops: string[] = [];
  responder.on('drop', ({ reason }) => drops.push(reason));
  const replies4 = await exchange(udpPort, [request()], 300);
  if (host === '::1') {
    // IPv6 only: no IPv4 socket, so IPv4 requests reach nothing at all.
    assert.deepEqual(replies4, [], 'an IPv4 requester was answered for a server on ::1 only');
    assert.deepEqual(drops, []);
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER', 300), []);
  } else {
    assert.equal(replies4.length, 1, 'no answer over IPv4 from a server on ::');
    const answer4 = decodeAnswer(replies4[0] as Buffer);
    assert.equal(answer4?.address, '127.0.0.1');
    assert.equal(answer4?.port, boundPort);
  }

  await close();
  assert.equal(handle.responder, undefined);
  assert.deepEqual(await exchange6(udpPort, [request()]), []);
}
