/** `receiveBufferSize`: the client's sockets ask the kernel for a large SO_RCVBUF. */
import assert from 'node:assert/strict';
import { createSocket, type SocketOptions } from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { describe, it, type TestContext } from 'node:test';
import { resolveDiscoverSettings } from '../../src/client/options.js';
import {
  type DiscoverOptions,
  discover,
  InvalidOptionError,
  type Responder,
} from '../../src/index.js';
import { requirePrerequisite } from '../helpers/prerequisite.js';
import { trackResponders } from '../helpers/responders.js';
import { LOCAL } from '../helpers/udp.js';

const start = trackResponders({ httpPort: 8080, rateLimit: 0 });

const RMEM_MAX = '/proc/sys/net/core/rmem_max';
const RMEM_DEFAULT = '/proc/sys/net/core/rmem_default';
const readNumber = (path: string) => Number(readFileSync(path, 'utf8').trim());

/** What one socket of the client was created with, and its SO_RCVBUF once bound. */
interface Opened {
  options: SocketOptions;
  receiveBuffer?: number;
}

/**
 * Discovers `responder` on loopback through a socket factory that reads each socket's receive
 * buffer as soon as it is bound (discovery closes its sockets before it returns).
 */
async function discoverRecording(
  responder: Responder & { port: number },
  options: DiscoverOptions = {},
): Promise<Opened[]> {
  const opened: Opened[] = [];
  const servers = await discover({
    ...LOCAL,
    port: responder.port,
    timeout: 300,
    ...options,
    socketFactory: (socketOptions) => {
      const socket = createSocket(socketOptions);
      const record: Opened = { options: socketOptions };
      opened.push(record);
      socket.once('listening', () => {
        record.receiveBuffer = socket.getRecvBufferSize();
      });
      return socket;
    },
  });
  assert.deepEqual(
    servers.map((s) => s.url),
    ['http://127.0.0.1:8080'],
    'the responder was not discovered',
  );
  assert.ok(opened.length > 0, 'no socket came from the factory');
  return opened;
}

function linuxOnly(t: TestContext): boolean {
  return requirePrerequisite(
    t,
    existsSync(RMEM_MAX) && existsSync(RMEM_DEFAULT),
    `${RMEM_MAX} and ${RMEM_DEFAULT}`,
  );
}

describe('client receive buffer', () => {
  const sizes: [string, number | undefined, number][] = [
    ['the 1 MiB default', undefined, 1_048_576],
    ['300000 bytes', 300_000, 300_000],
    ['2^30 bytes, above net.core.rmem_max', 2 ** 30, 2 ** 30],
  ];
  for (const [name, option, requested] of sizes) {
    it(`asks for ${name}; the kernel doubles it, capped at twice rmem_max`, async (t) => {
      if (!linuxOnly(t)) return;
      const responder = await start();
      const options = option === undefined ? {} : { receiveBufferSize: option };
      const opened = await discoverRecording(responder, options);
      const expected = Math.min(2 * requested, 2 * readNumber(RMEM_MAX));
      for (const { options: socketOptions, receiveBuffer } of opened) {
        assert.equal(socketOptions.recvBufferSize, requested);
        assert.equal(receiveBuffer, expected);
      }
    });
  }

  it('with 0, leaves the system default (net.core.rmem_default)', async (t) => {
    if (!linuxOnly(t)) return;
    const responder = await start();
    const opened = await discoverRecording(responder, { receiveBufferSize: 0 });
    for (const { options, receiveBuffer } of opened) {
      assert.equal(options.recvBufferSize, undefined);
      assert.equal(receiveBuffer, readNumber(RMEM_DEFAULT));
    }
  });

  it('resolves to 1 MiB by default, and to the option when given', () => {
    assert.equal(resolveDiscoverSettings({ env: {} }).receiveBufferSize, 1_048_576);
    assert.equal(resolveDiscoverSettings({ env: {}, receiveBufferSize: 0 }).receiveBufferSize, 0);
    const max = resolveDiscoverSettings({ env: {}, receiveBufferSize: 2 ** 30 });
    assert.equal(max.receiveBufferSize, 2 ** 30);
  });

  const invalid: [string, number][] = [
    ['-1', -1],
    ['1.5', 1.5],
    ['2^31', 2 ** 31],
    ['2^30 + 1', 2 ** 30 + 1],
    ['NaN', Number.NaN],
  ];
  for (const [name, value] of invalid) {
    it(`throws InvalidOptionError naming receiveBufferSize for ${name}`, () => {
      assert.throws(
        () => discover({ ...LOCAL, receiveBufferSize: value }),
        (error: unknown) => {
          assert.ok(error instanceof InvalidOptionError, String(error));
          assert.equal(error.option, 'receiveBufferSize');
          assert.match(
            error.message,
            /^Invalid receiveBufferSize: .* \(expected an integer from 0 to 1073741824\)$/,
          );
          return true;
        },
      );
    });
  }
});
