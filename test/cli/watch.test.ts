/**
 * `beckon watch` and serve's presence flags, the built CLI on loopback only (`-i lo`, serve with
 * --no-groups): a server comes (up), leaves (down, goodbye), and Ctrl+C exits 130.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BIN, beckon, beckonServe, startBeckon } from '../helpers/cli.js';
import { requirePrerequisite } from '../helpers/prerequisite.js';
import { LabProcess } from '../helpers/process.js';
import { freeUdpPort } from '../helpers/udp.js';
import { hasCommand } from '../lab/lab.js';

/** The discovery and announcement ports, as flags. */
const ports = (port: number, announcePort: number) => [
  '--port',
  String(port),
  '--announce-port',
  String(announcePort),
];

describe('beckon watch', () => {
  it('prints up and down as JSON lines, and exits 130 on SIGINT', async () => {
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const watcher = startBeckon(['watch', '--json', '-i', 'lo', ...ports(port, announcePort)]);
    try {
      const server = await beckonServe([
        ...ports(port, announcePort),
        '--http-port',
        '8088',
        '--service',
        'demo',
      ]);
      assert.match(server.stdout, /Announcements: +on, lease 15 s, to port \d+ \(loopback only/);
      const [up] = await watcher.waitFor(/^\{"event":"up".*$/m, 5000);
      const event = JSON.parse(up);
      assert.equal(event.server.url, 'http://127.0.0.1:8088');
      assert.ok(!Number.isNaN(Date.parse(event.at)));
      await server.stop('SIGTERM');
      const [down] = await watcher.waitFor(/^\{"event":"down".*$/m, 8000);
      assert.equal(JSON.parse(down).reason, 'goodbye');
      const { status } = await watcher.stop('SIGINT');
      assert.equal(status, 130);
    } finally {
      await watcher.stop('SIGKILL');
    }
  });

  it('on a terminal, draws a live table (service, name, URL, interface, via, up since, last seen)', async (t) => {
    if (!requirePrerequisite(t, hasCommand('script'), 'script (util-linux), for a terminal'))
      return;
    const port = await freeUdpPort();
    const announcePort = await freeUdpPort();
    const command = [process.execPath, BIN, 'watch', '-i', 'lo', ...ports(port, announcePort)].join(
      ' ',
    );
    // script(1) gives the CLI a pseudo-terminal, as a user's shell would.
    const terminal = new LabProcess('script', ['-qfec', command, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '', TERM: 'xterm' },
      inheritEnv: false,
    });
    try {
      await terminal.waitFor(/Watching UDP port \d+: 0 servers/, 5000);
      const server = await beckonServe([
        ...ports(port, announcePort),
        '--http-port',
        '8089',
        '--service',
        'tty-demo',
        '--name',
        'Demo',
      ]);
      try {
        await terminal.waitFor(/Watching UDP port \d+: 1 server\b/, 5000);
        assert.match(
          terminal.stdout,
          /SERVICE\s+NAME\s+URL\s+INTERFACE\s+VIA\s+UP SINCE\s+LAST SEEN/,
        );
        assert.match(
          terminal.stdout,
          /tty-demo\s+Demo\s+http:\/\/127\.0\.0\.1:8089\s+lo\s+broadcast\s/,
        );
        assert.ok(terminal.stdout.includes('\x1b[H\x1b[J'), 'redrawn in place');
      } finally {
        await server.stop('SIGTERM');
      }
      await terminal.waitFor(/down http:\/\/127\.0\.0\.1:8089 \(goodbye\)/, 8000);
    } finally {
      await terminal.stop('SIGKILL');
    }
  });

  it('names the flag of a bad value, and serve refuses a lease under 1 s', async () => {
    const watch = await beckon(['watch', '-i', 'lo', '--poll-interval', '10ms']);
    assert.equal(watch.code, 2);
    assert.match(watch.stderr, /--poll-interval/);
    const serve = await beckon(['serve', '--no-groups', '--port', '0', '--lease', '500ms']);
    assert.equal(serve.code, 2);
    assert.match(serve.stderr, /--lease/);
    const help = await beckon(['watch', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: beckon watch/);
  });
});
