/**
 * Issue 18, subnet scan: what a responder does with a request from another segment of the /16
 * (docs/security.md, "Off-link senders"), across the scan lab's router (test/lab/scan.ts),
 * without the scan client: `beckon discover --no-broadcast --target <server>` and raw bursts.
 *
 * - a private off-link sender is answered by default, with the address the route to it uses;
 * - a burst from one such sender gets at most 1 reply a second; 30 such senders at once share
 *   20 replies (the off-link budget), and the server warns that the budget ran out;
 * - `--off-link none` refuses them (`off-link`), as does any server for a public sender;
 * - a worker-thread responder applies the same policy, and honours the `--off-link none` of a
 *   service registered with it (the host's other beckon process).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { discoverCli, serve } from '../beckon.js';
import { startResponderIn } from '../groups.js';
import type { LabHost } from '../lab.js';
import { CLIENT_IP, FAR_IP, MIDDLE_IP, OUTSIDER_IP, startScanLab } from '../scan.js';

/** Waits (up to 10 s) until `read()` matches `pattern`. */
async function waitForText(read: () => string, pattern: RegExp): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!pattern.test(read())) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${pattern} in:\n${read()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

interface Burst {
  sent: number;
  replies: number;
  bySource: Record<string, number>;
  sendMs: number;
}

/** Runs test/lab/drivers/burst.ts in `host` (see there). */
async function burst(
  host: LabHost,
  target: string,
  sources: string[],
  count: number,
  intervalMs: number,
): Promise<Burst> {
  const run = await host.script(
    'test/lab/drivers/burst.ts',
    [target, sources.join(','), String(count), String(intervalMs), '1000'],
    { timeoutMs: 60_000 },
  );
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as Burst;
}

const ask = (target: string) => ['--timeout', '1', '--no-broadcast', '--target', target];

it('a private sender behind a router is answered at the off-link limits; --off-link none and public senders are refused', async (t) => {
  const lab = await startScanLab(t);
  if (!lab) return;
  const client = lab.host('client');
  const far = await serve(lab.host('far'), '--http-port', '8080', '--trace');
  const guarded = await serve(
    lab.host('middle'),
    '--http-port',
    '8080',
    '--off-link',
    'none',
    '--trace',
  );
  assert.match(
    far.stdout,
    /Off-link senders: +private ones, at most 1 reply\/s each \(burst 4\), 20\/s in all/,
  );
  assert.match(guarded.stdout, /Off-link senders: +none \(--off-link none\)/);

  // Answered by default, advertising the address the route to the client uses.
  const found = await discoverCli(client, ...ask(FAR_IP));
  assert.equal(found.status, 0, found.run.stderr);
  assert.deepEqual(
    found.servers.map((s) => [s.ip, s.port, s.via]),
    [[FAR_IP, 8080, 'target']],
  );
  // Both the plain and the extended request of the first round were answered (the burst), so
  // a client that asks for names gets them from behind the router too.
  await waitForText(
    () => far.stdout,
    new RegExp(`Replied to ${CLIENT_IP}:\\d+ with extended ${FAR_IP}:8080`),
  );
  assert.match(
    far.stdout,
    new RegExp(`Replied to ${CLIENT_IP}:\\d+ with SERVER_IP:${FAR_IP}:8080\\n`),
  );

  // --off-link none: the same request is dropped as off-link, and nothing is found.
  const refused = await discoverCli(client, ...ask(MIDDLE_IP));
  assert.equal(refused.status, 1, `found ${JSON.stringify(refused.servers)}`);
  assert.doesNotMatch(guarded.stdout, /Replied to/);
  await waitForText(() => guarded.stderr, new RegExp(`Dropped ${CLIENT_IP}:\\d+: off-link\n`));
  assert.doesNotMatch(guarded.stderr, /refused/, 'an unanswered off-link sender was summarised');

  // A public sender behind the same router is refused by the default policy.
  const outsider = await discoverCli(lab.host('outsider'), ...ask(FAR_IP));
  assert.equal(outsider.status, 1, `found ${JSON.stringify(outsider.servers)}`);
  await waitForText(() => far.stderr, new RegExp(`Dropped ${OUTSIDER_IP}:\\d+: off-link`));
  assert.doesNotMatch(far.stdout, new RegExp(`Replied to ${OUTSIDER_IP}`));

  // One sender, 40 requests over 2 s: the burst of 4, then at most one reply a second.
  await new Promise((resolve) => setTimeout(resolve, 4000)); // its bucket refills
  const single = await burst(client, FAR_IP, [CLIENT_IP], 40, 50);
  const allowedOne = 4 + Math.ceil(single.sendMs / 1000);
  t.diagnostic(
    `one off-link sender: ${single.replies} replies to ${single.sent} requests in ${Math.round(single.sendMs)} ms`,
  );
  assert.equal(single.sent, 40);
  assert.ok(single.replies >= 4, `one sender got ${single.replies} replies`);
  assert.ok(
    single.replies <= allowedOne,
    `one sender got ${single.replies} replies in ${Math.round(single.sendMs)} ms (at most ${allowedOne})`,
  );
  await waitForText(
    () => far.stderr,
    new RegExp(`Dropped ${CLIENT_IP}:\\d+: off-link-rate-limited`),
  );

  // 30 senders at once, one request each: 20 replies (the shared budget), plus what it earned
  // back while they arrived.
  const sources = Array.from({ length: 30 }, (_, i) => `10.20.1.${100 + i}`);
  for (const source of sources) client.ip('addr', 'add', `${source}/24`, 'dev', 'eth0');
  const many = await burst(client, FAR_IP, sources, 1, 0);
  const allowedMany = 20 + Math.ceil((many.sendMs / 1000) * 20) + 1;
  t.diagnostic(
    `30 off-link senders at once: ${many.replies} replies in all (sent in ${Math.round(many.sendMs)} ms)`,
  );
  assert.equal(many.sent, 30);
  assert.ok(many.replies >= 18, `30 senders got ${many.replies} replies`);
  assert.ok(many.replies <= allowedMany, `30 senders got ${many.replies} (at most ${allowedMany})`);
  await waitForText(
    () => far.stderr,
    /More than 20 requests\/s from private senders behind a router/,
  );
  // The router's other legs kept their own limit: on-link-like discovery of far still works.
  await new Promise((resolve) => setTimeout(resolve, 1100)); // the client's own bucket refills
  const again = await discoverCli(client, ...ask(FAR_IP));
  assert.equal(again.status, 0, again.run.stderr);
});

it("a worker-thread responder applies the off-link policy too, and a registered service's --off-link none", async (t) => {
  const lab = await startScanLab(t);
  if (!lab) return;
  const client = lab.host('client');
  const answering = await startResponderIn(lab.host('far'), {
    port: 9999,
    httpPort: 8080,
    worker: true,
    drops: true,
  });
  const guarded = await startResponderIn(lab.host('middle'), {
    port: 9999,
    worker: true,
    offLink: 'none',
    drops: true,
  });

  // A second service on the far host, registered with the worker (which answers for it), says
  // --off-link none: the client behind the router gets the worker's service only; loopback
  // gets both.
  const narrow = lab.host('far').beckon('serve', '--http-port', '8081', '--off-link', 'none');
  await narrow.waitFor(/\[OK\] Registered with the beckon process/);
  const found = await discoverCli(client, ...ask(FAR_IP));
  assert.deepEqual(
    found.servers.map((s) => [s.ip, s.port]),
    [[FAR_IP, 8080]],
  );
  const local = await discoverCli(lab.host('far'), ...ask('127.0.0.1'));
  assert.deepEqual(local.servers.map((s) => s.port).sort(), [8080, 8081]);
  assert.match(
    answering.stdout,
    new RegExp(`"reply":\\{"to":"${CLIENT_IP}","address":"${FAR_IP}"`),
  );

  const refused = await discoverCli(client, ...ask(MIDDLE_IP));
  assert.equal(refused.status, 1);
  await waitForText(
    () => guarded.stdout,
    new RegExp(`"drop":\\{"from":"${CLIENT_IP}","reason":"off-link"`),
  );

  // The lower limit holds in the thread too (the driver turns the on-link limit off).
  await new Promise((resolve) => setTimeout(resolve, 4000)); // the client's bucket refills
  const single = await burst(client, FAR_IP, [CLIENT_IP], 20, 50);
  assert.ok(
    single.replies <= 4 + Math.ceil(single.sendMs / 1000),
    `one sender got ${single.replies} replies in ${Math.round(single.sendMs)} ms`,
  );
  await waitForText(
    () => answering.stdout,
    new RegExp(`"drop":\\{"from":"${CLIENT_IP}","reason":"off-link-rate-limited"`),
  );
});
