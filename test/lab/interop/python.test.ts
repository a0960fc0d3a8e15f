import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it, type TestContext } from 'node:test';
import { hasPython, PYTHON, requirePrerequisite } from '../../helpers/prerequisite.js';
import {
  discoverCli,
  discoverLib,
  originalDiscover,
  originalServer,
  serve,
  summary,
} from '../beckon.js';
import { startLab, type Topology } from '../lab.js';

/** One LAN with a default route, as most offices have: two servers and a client. */
const LAN: Topology = {
  one: { interfaces: { eth0: { segment: 'lan', address: '10.9.0.10/24' } }, gateway: '10.9.0.1' },
  two: { interfaces: { eth0: { segment: 'lan', address: '10.9.0.11/24' } }, gateway: '10.9.0.1' },
  client: {
    interfaces: { eth0: { segment: 'lan', address: '10.9.0.20/24' } },
    gateway: '10.9.0.1',
  },
};

const hasIfaddr = () => hasPython() && spawnSync(PYTHON, ['-c', 'import ifaddr']).status === 0;

/** The lab for `topology`, or undefined when skipped (Python with ifaddr or root missing). */
async function lab(t: TestContext, topology: Topology = LAN) {
  if (!requirePrerequisite(t, hasIfaddr(), `${PYTHON} with python3-ifaddr`)) return undefined;
  return startLab(t, topology);
}

const byIp = <T extends { ip: string }>(list: T[]) =>
  [...list].sort((a, b) => (a.ip < b.ip ? -1 : 1));

describe('interop with the original Python pair, inside the lab', () => {
  it('the original client finds beckon serve (no --http-port: port 8000, as it assumes)', async (t) => {
    const net = await lab(t);
    if (!net) return;
    await serve(net.host('one'));
    await serve(net.host('two'), '--http-port', '8080');
    const found = await originalDiscover(net.host('client'), '--timeout', '1');
    assert.deepEqual(byIp(found), [
      { ip: '10.9.0.10', port: 8000, source: '10.9.0.10' },
      { ip: '10.9.0.11', port: 8080, source: '10.9.0.11' },
    ]);
  });

  it('beckon discover and discover() find the original server, assuming port 8000', async (t) => {
    const net = await lab(t);
    if (!net) return;
    const python = await originalServer(net.host('one'));
    const cli = await discoverCli(net.host('client'), '--timeout', '1');
    assert.equal(cli.status, 0, cli.run.stderr);
    assert.deepEqual(summary(cli.servers), ['10.9.0.10:8000@eth0']);
    assert.equal(cli.servers[0]?.raw, 'SERVER_IP:10.9.0.10');
    const lib = await discoverLib(net.host('client'), { timeout: 1000 });
    assert.deepEqual(summary(lib), ['10.9.0.10:8000@eth0']);
    assert.match(python.stdout, /Responded to 10\.9\.0\.20:\d+ with server IP: 10\.9\.0\.10/);
  });

  it('a custom message and prefix work both ways, and a mismatch finds nothing', async (t) => {
    const net = await lab(t);
    if (!net) return;
    const custom = ['--message', 'WHERE_IS_API', '--prefix', 'API_AT:'];
    await serve(net.host('one'), '--http-port', '3000', ...custom);
    await originalServer(net.host('two'), ...custom);
    const client = net.host('client');

    assert.deepEqual(byIp(await originalDiscover(client, '--timeout', '1', ...custom)), [
      { ip: '10.9.0.10', port: 3000, source: '10.9.0.10' },
      { ip: '10.9.0.11', port: 8000, source: '10.9.0.11' },
    ]);
    const cli = await discoverCli(client, '--timeout', '1', ...custom);
    assert.deepEqual(summary(cli.servers), ['10.9.0.10:3000@eth0', '10.9.0.11:8000@eth0']);

    assert.deepEqual(await originalDiscover(client, '--timeout', '1'), []);
    const wrongPrefix = await discoverCli(client, '--timeout', '1', '--message', 'WHERE_IS_API');
    assert.equal(wrongPrefix.status, 1);
    assert.deepEqual(wrongPrefix.servers, []);
  });

  it("catches the original server's wrong addresses instead of handing them on", async (t) => {
    // The original advertises its default-route address to everyone: wrong for a client on its
    // second subnet, and 127.0.0.1 on a LAN with no default route.
    const net = await lab(t, {
      multi: {
        interfaces: {
          eth0: { segment: 'office', address: '10.9.1.10/24' },
          eth1: { segment: 'lab', address: '10.9.2.10/24' },
        },
        gateway: '10.9.1.1',
      },
      offline: { interfaces: { eth0: { segment: 'lab', address: '10.9.2.11/24' } } },
      client: { interfaces: { eth0: { segment: 'lab', address: '10.9.2.20/24' } } },
    });
    if (!net) return;
    await originalServer(net.host('multi'));
    await originalServer(net.host('offline'));
    const client = net.host('client');

    // The original client takes both claims at face value.
    assert.deepEqual(byIp(await originalDiscover(client, '--timeout', '1')), [
      { ip: '10.9.1.10', port: 8000, source: '10.9.2.10' },
      { ip: '127.0.0.1', port: 8000, source: '10.9.2.11' },
    ]);
    // beckon drops replies whose claimed address is not their source, and says so...
    const strict = await discoverCli(client, '--timeout', '1');
    assert.equal(strict.status, 1);
    assert.match(
      strict.run.stderr,
      /Dropped a reply from 10\.9\.2\.10 claiming to be 10\.9\.1\.10/,
    );
    assert.match(
      strict.run.stderr,
      /Dropped a reply from 10\.9\.2\.11 claiming to be 127\.0\.0\.1/,
    );
    // ...or keeps them, marked, when asked to.
    const lenient = await discoverCli(client, '--timeout', '1', '--accept-foreign');
    assert.deepEqual(
      byIp(lenient.servers).map((s) => [s.ip, s.source, s.foreign]),
      [
        ['10.9.1.10', '10.9.2.10', true],
        ['127.0.0.1', '10.9.2.11', true],
      ],
    );
  });
});
