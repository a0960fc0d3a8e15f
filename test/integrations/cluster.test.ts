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

it('node:cluster: one worker answers for the host, the other registers and takes over', async () => {
  const [udpPort, httpPort] = [await freeUdpPort(), await freeTcpPort()];
  const app = new LabProcess(
    process.execPath,
    ['--import', 'tsx', 'test/integrations/fixtures/cluster-app.ts', String(udpPort)],
    { env: { HTTP_PORT: String(httpPort) } },
  );
  try {
    await app.waitFor(/worker \d+ (answering|registered)[\s\S]*worker \d+ (answering|registered)/);
    const answering = /worker (\d+) answering/.exec(app.stdout)?.[1];
    const standing = /worker (\d+) registered/.exec(app.stdout)?.[1];
    assert.ok(answering && standing, app.stdout + app.stderr);
    // One answer per request: the workers' records are identical, so they count once.
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER'), [`SERVER_IP:127.0.0.1:${httpPort}`]);

    process.kill(Number(answering), 'SIGKILL'); // the answering worker dies
    const killed = performance.now();
    await app.waitFor(new RegExp(`worker ${standing} answering`), 3000);
    const took = performance.now() - killed;
    assert.ok(took < 1500, `took over after ${Math.round(took)} ms`);
    assert.deepEqual(await ask(udpPort, 'DISCOVER_SERVER'), [`SERVER_IP:127.0.0.1:${httpPort}`]);
  } finally {
    app.kill('SIGTERM');
    await Promise.race([app.exited, sleep(3000)]);
    app.kill('SIGKILL');
  }
});
