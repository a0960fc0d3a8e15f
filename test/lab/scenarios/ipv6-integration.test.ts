/**
 * An HTTP app listening on one IPv6 address (a ULA) with discovery attached: a requester on the
 * link that reaches it at that address is answered over IPv6 with it (address6) and the port,
 * and can fetch it there; a requester that would be sent another address (the server's
 * link-local one) and an IPv4 requester get no answer. Then the same with the server on its
 * link-local address. docs/ipv6.md, "Integrations".
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
  // Over link-local the requester would be sent the server's link-local address, where nothing
  // listens; over IPv4, 10.15.1.10. Neither is answered.
  assert.deepEqual(answers[`${serverLinkLocal}%eth1`], []);
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
});
