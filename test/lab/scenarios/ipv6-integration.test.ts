/**
 * An HTTP app listening on one IPv6 address (a ULA) with discovery attached: a requester on the
 * link that reaches it at that address is answered over IPv6 with it (address6) and the port,
 * and can fetch it there, and so is one asking over link-local on that link; an IPv4 requester
 * gets no answer. Then the same with the server on its
 * link-local address, and on the second of two addresses in one /64. docs/ipv6.md, "Integrations".
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ROOT, startLab } from '../lab.js';

it('an HTTP server on one IPv6 address (a ULA, then link-local) is advertised over IPv6 with that address only', async (t) => {
  const lab = await startLab(t, {
    server: { interfaces: { lan0: { segment: 'link', address: '10.15.1.10/24' } } },
    client: { interfaces: { eth1: { segment: 'link', address: '10.15.1.20/24' } } },
  });
  if (!lab) return;
  const server = lab.host('server');
  const client = lab.host('client');
  const serverLinkLocal = await server.linkLocal('lan0');
  await client.linkLocal('eth1');
  server.ip('addr', 'add', 'fd15:0:0:1::10/64', 'dev', 'lan0', 'nodad');
  client.ip('addr', 'add', 'fd15:0:0:1::20/64', 'dev', 'eth1', 'nodad');

  const app = server.spawn(process.execPath, [
    '--import',
    'tsx',
    `${ROOT}test/lab/drivers/http-app.ts`,
    'fd15:0:0:1::10',
    '8080',
  ]);
  await app.waitFor(/ready answering/, 20_000);
  assert.match(
    app.stderr,
    /listens on fd15:0:0:1::10 only: discovery answers only requesters that reach this host at fd15:0:0:1::10, over IPv6/,
  );

  const asked = await client.script(
    'test/lab/drivers/ask-extended.ts',
    ['9999', 'fd15:0:0:1::10', `${serverLinkLocal}%eth1`, '10.15.1.10'],
    { timeoutMs: 30_000 },
  );
  assert.equal(asked.status, 0, asked.stderr);
  const answers = Object.fromEntries(
    asked.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { target: string; answers: unknown[] })
      .map(({ target, answers }) => [target, answers]),
  );
  for (const line of asked.stdout.trim().split('\n')) t.diagnostic(line);
  // On the ULA: answered from it, with it in address6, and the HTTP port.
  assert.deepEqual(answers['fd15:0:0:1::10'], [
    { from: 'fd15:0:0:1::10', address: 'fd15:0:0:1::10', port: 8080 },
  ]);
  // Asked over link-local (as every group request is), the requester is sent the ULA, the one
  // address of that link where the server listens; over IPv4 it is not answered at all.
  assert.deepEqual(answers[`${serverLinkLocal}%eth1`], [
    { from: `${serverLinkLocal}%eth1`, address: 'fd15:0:0:1::10', port: 8080 },
  ]);
  assert.deepEqual(answers['10.15.1.10'], []);

  const response = await client.run(process.execPath, [
    '-e',
    'fetch("http://[fd15:0:0:1::10]:8080").then(async (r) => console.log(r.status, await r.text()))',
  ]);
  assert.equal(response.stdout, '200 lab app\n\n');
  assert.deepEqual(await app.stop('SIGTERM'), { status: 0, signal: null });

  // The same on the server's link-local address: answered over link-local (address6 without
  // zone; the client adds its own), not on the ULA, not over IPv4.
  const linkApp = server.spawn(process.execPath, [
    '--import',
    'tsx',
    `${ROOT}test/lab/drivers/http-app.ts`,
    `${serverLinkLocal}%lan0`,
    '8081',
  ]);
  await linkApp.waitFor(/ready answering/, 20_000);
  const askedLink = await client.script(
    'test/lab/drivers/ask-extended.ts',
    ['9999', `${serverLinkLocal}%eth1`, 'fd15:0:0:1::10', '10.15.1.10'],
    { timeoutMs: 30_000 },
  );
  assert.equal(askedLink.status, 0, askedLink.stderr);
  for (const line of askedLink.stdout.trim().split('\n')) t.diagnostic(line);
  assert.deepEqual(
    askedLink.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line)),
    [
      {
        target: `${serverLinkLocal}%eth1`,
        answers: [{ from: `${serverLinkLocal}%eth1`, address: serverLinkLocal, port: 8081 }],
      },
      { target: 'fd15:0:0:1::10', answers: [] },
      { target: '10.15.1.10', answers: [] },
    ],
  );
  assert.deepEqual(await linkApp.stop('SIGTERM'), { status: 0, signal: null });

  // A second address in the same /64 (as SLAAC gives a stable and a temporary one): a server
  // listening on it is advertised with it, whichever of the two the request was sent to.
  server.ip('addr', 'add', 'fd15:0:0:1::11/64', 'dev', 'lan0', 'nodad');
  const second = server.spawn(process.execPath, [
    '--import',
    'tsx',
    `${ROOT}test/lab/drivers/http-app.ts`,
    'fd15:0:0:1::11',
    '8082',
  ]);
  await second.waitFor(/ready answering/, 20_000);
  const askedSecond = await client.script(
    'test/lab/drivers/ask-extended.ts',
    ['9999', 'fd15:0:0:1::11', 'fd15:0:0:1::10'],
    { timeoutMs: 30_000 },
  );
  assert.equal(askedSecond.status, 0, askedSecond.stderr);
  // The answer's source is the kernel's choice among the two; what it advertises is not.
  assert.deepEqual(
    askedSecond.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { target: string; answers: Record<string, unknown>[] })
      .map(({ target, answers }) => [
        target,
        answers.map(({ address, port }) => ({ address, port })),
      ]),
    [
      ['fd15:0:0:1::11', [{ address: 'fd15:0:0:1::11', port: 8082 }]],
      ['fd15:0:0:1::10', [{ address: 'fd15:0:0:1::11', port: 8082 }]],
    ],
  );
  const found = await client.beckonRun([
    'discover',
    '--ipv6',
    '--timeout',
    '1',
    '--json',
    '--trace',
  ]);
  assert.equal(found.status, 0, found.stderr);
  assert.deepEqual(
    found.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line).url),
    ['http://[fd15:0:0:1::11]:8082'],
  );
  assert.deepEqual(await second.stop('SIGTERM'), { status: 0, signal: null });
});
