/**
 * What `beckon discover` says when it cannot do what was asked: an `--interface` pattern that
 * matches nothing is a usage error listing the interfaces; "nothing found" names the filters
 * (`--service`, `--auth-key`, `--extended`) that keep servers silent. (The host with only
 * loopback is covered in test/lab/scenarios/only-loopback.test.ts.)
 */
import assert from 'node:assert/strict';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { beckon } from '../helpers/cli.js';
import { trackResponders } from '../helpers/responders.js';
import { freeUdpPort, udpPeer } from '../helpers/udp.js';

const startResponder = trackResponders({ rateLimit: 0 });
const KEY = 'a-shared-key-of-32-characters-ok';

/** `beckon discover` asking only 127.0.0.1 on `port`, with more flags. */
const discoverAt = (port: number, flags: string[], env: Record<string, string> = {}) =>
  beckon(
    ['discover', '--no-broadcast', '--target', '127.0.0.1', '--port', String(port), ...flags],
    { DISCOVERY_CLIENT_TIMEOUT: '0.5', ...env },
  );

const FILTERS = /These filters were active; servers they leave out do not answer at all:\n/;
const ORIGINAL =
  / {2}--extended \(implied by --service and --auth-key\): servers of the original kind\n {2}\(django-udp-discovery\) do not answer extended requests and stay silent\.\n/;

describe('beckon discover advice', () => {
  it('--interface matching no interface is a usage error that lists the interfaces', async () => {
    // --no-broadcast --target: should the check ever let it through, only loopback is asked.
    const run = await beckon([
      'discover',
      ...['--no-broadcast', '--target', '127.0.0.1', '--port', '9', '--timeout', '0.3'],
      ...['--interface', 'lo', '--interface', 'nope'],
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(run.stdout, '');
    assert.match(
      run.stderr,
      /^beckon: --interface "nope" matches no interface that is up with an IPv4 address or IPv6 link\. Interfaces here: .*lo 127\.0\.0\.1\/8/,
    );
    for (const [name, addresses] of Object.entries(networkInterfaces())) {
      for (const a of addresses ?? []) {
        if (a.family === 'IPv4') assert.ok(run.stderr.includes(`${name} ${a.address}/`), name);
      }
    }
    assert.doesNotMatch(run.stderr, /No servers found/);
  });

  it('names every pattern that matches nothing, and accepts globs and CIDRs that match', async () => {
    const run = await beckon([
      'discover',
      ...['--port', '9', '--timeout', '0.3', '--no-broadcast', '--target', '127.0.0.1'],
      ...[
        '--interface',
        'l?',
        '--interface',
        '127.0.0.0/8',
        '--interface',
        'x*',
        '--interface',
        '203.0.113.0/24',
      ],
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /--interface "x\*", "203\.0\.113\.0\/24" match no interface/);

    const fine = await beckon([
      'discover',
      ...['--port', '9', '--timeout', '0.3', '--no-broadcast', '--target', '127.0.0.1'],
      ...['--interface', 'l?', '--interface', '127.0.0.0/8'],
    ]);
    assert.equal(fine.code, 1, fine.stderr);
    assert.match(fine.stderr, /No servers found\./);
  });
});

describe('beckon discover: "nothing found" names the active filters', () => {
  /** An original-style server: answers only the plain request, ignores extended ones. */
  let original: Awaited<ReturnType<typeof udpPeer>>;
  before(async () => {
    original = await udpPeer((message, remote, socket) => {
      if (message.toString() === 'DISCOVER_SERVER')
        socket.send('SERVER_IP:127.0.0.1:8127', remote.port, remote.address);
    });
  });
  after(() => original.close());

  it('says nothing about filters when none was set', async () => {
    const run = await discoverAt(await freeUdpPort(), []);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^No servers found\.\nCheck that a responder runs/);
    assert.doesNotMatch(run.stderr, /filters|--extended/);
  });

  it('--service: servers of another service stay silent', async () => {
    const { port } = await startResponder({ service: 'printing', httpPort: 8126 });
    const found = await discoverAt(port, ['--service', 'printing', '--json']);
    assert.equal(found.code, 0, found.stderr); // the responder is there and answers its service
    const run = await discoverAt(port, ['--service', 'music']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, FILTERS);
    assert.match(run.stderr, / {2}--service music: servers of another service stay silent\.\n/);
    assert.match(run.stderr, ORIGINAL);
    assert.doesNotMatch(run.stderr, /without this key/);
  });

  it('--auth-key: servers without the key stay silent', async () => {
    const { port } = await startResponder({ httpPort: 8128 });
    const run = await discoverAt(port, ['--auth-key', KEY]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, FILTERS);
    assert.match(run.stderr, / {2}--auth-key: servers without this key stay silent/);
    assert.match(run.stderr, ORIGINAL);
    assert.match(run.stderr, /add --trace to see the replies that were dropped/);
    assert.doesNotMatch(run.stderr, /another service/);
  });

  it('an auth key from the environment is named as such', async () => {
    const run = await discoverAt(await freeUdpPort(), [], { DISCOVERY_CLIENT_AUTH_KEY: KEY });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, / {2}the auth key from the environment: servers without this key/);
  });

  it('--extended: a server of the original kind stays silent', async () => {
    const plain = await discoverAt(original.port, ['--json']);
    assert.equal(plain.code, 0, plain.stderr); // found without --extended
    assert.equal(JSON.parse(plain.stdout).url, 'http://127.0.0.1:8127');
    const run = await discoverAt(original.port, ['--extended']);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, FILTERS);
    assert.match(run.stderr, ORIGINAL);
    assert.doesNotMatch(run.stderr, /another service|without this key/);
  });
});
