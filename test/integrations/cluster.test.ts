import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { it } from 'node:test';
import { LabProcess } from '../helpers/process.js';
import { ask, freeUdpPort, sleep } from '../helpers/udp.js';

/** A TCP port on loopback that was free a moment ago. */
async function freeTcpPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

it('node:cluster: one worker answers for the host, the other stands by and takes over', async () => {
  const [udpPort, httpPort] = [await freeUdpPort(), await freeTcpPort()];
  const app = new LabProcess(
    process.execPath,
    ['--import', 'tsx', 'test/integrations/fixtures/cluster-app.ts', String(udpPort)],
    { env: { HTTP_PORT: String(httpPort) } },
  );
  try {
    await app.waitFor(/worker \d+ (answering|standby)[\s\S]*worker \d+ (answering|standby)/);
    const answering = /worker (\d+) answering/.exec(app.stdout)?.[1];
    const standing = /worker (\d+) standby/.exec(app.stdout)?.[1];
    assert.ok(answering && standing, app.stdout + app.stderr);
    // One answer per request: the two workers do not both reply (or fight over the port).
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER'), [`SERVER_IP:127.0.0.1:${httpPort}`]);

    process.kill(Number(answering), 'SIGKILL'); // the answering worker dies
    await app.waitFor(new RegExp(`worker ${standing} answering`), 3000);
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER'), [`SERVER_IP:127.0.0.1:${httpPort}`]);
  } finally {
    app.kill('SIGTERM');
    await Promise.race([app.exited, sleep(3000)]);
    app.kill('SIGKILL');
  }
});
