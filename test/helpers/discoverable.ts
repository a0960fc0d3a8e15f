/** The check every framework integration must pass, on loopback. */
import assert from 'node:assert/strict';
import { discoverOne } from '../../src/index.js';
import type { DiscoveryHandle } from '../../src/integrations/http.js';
import { ask, LOCAL } from './udp.js';

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
