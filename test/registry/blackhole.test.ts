/**
 * An etcd that drops packets (a firewall DROP, a host gone on a routed network) must not hold
 * a process open: no TCP connect without a timeout, no stream without a deadline. In a network
 * namespace of the test's own, where nft drops the TCP port; a real etcd runs there too.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { BIN } from '../helpers/cli.js';
import { freePort, launchEtcd } from '../helpers/etcd.js';
import { requirePrerequisite } from '../helpers/prerequisite.js';
import { canBuildLab, hasCommand } from '../lab/lab.js';

/** Runs `args` in `netns`, resolving with its exit code, output and wall time. */
function runIn(netns: string, args: string[], killAfterMs = 60_000) {
  const started = performance.now();
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, BIN, ...args], {
    env: { PATH: process.env.PATH ?? '' },
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  return {
    child,
    done: new Promise<{ code: number | null; output: string; ms: number }>((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(killer);
        resolve({ code, output, ms: performance.now() - started });
      }),
    ),
  };
}

/** How many keys under `prefix` the etcd at `port` in `netns` holds (its JSON gateway). */
function countKeys(netns: string, port: number, prefix: string): number {
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const end = `${prefix.slice(0, -1)}${String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1)}`;
  const body = JSON.stringify({ key: b64(prefix), range_end: b64(end), count_only: true });
  const script = `fetch('http://127.0.0.1:${port}/v3/kv/range', { method: 'POST', body: ${JSON.stringify(body)} }).then((r) => r.json()).then((j) => console.log(j.count ?? 0), () => console.log(-1))`;
  const out = execFileSync('ip', ['netns', 'exec', netns, process.execPath, '-e', script], {
    encoding: 'utf8',
  });
  return Number(out.trim());
}

describe('a registry that drops packets', () => {
  it('does not keep serve or doctor from exiting, from the start or mid-run', async (t) => {
    if (!requirePrerequisite(t, canBuildLab(), 'root with iproute2 and network namespaces')) return;
    if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
    const netns = `beckon-reg-drop-${process.pid}`;
    const inNs = (...args: string[]) =>
      execFileSync('ip', ['netns', 'exec', netns, ...args], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'add', netns]);
    t.after(() => execFileSync('ip', ['netns', 'delete', netns]));
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('nft', 'add', 'table', 'inet', 'beckon');
    inNs(
      'nft',
      'add',
      'chain',
      'inet',
      'beckon',
      'out',
      '{ type filter hook output priority 0 ; }',
    );
    const dropped = await freePort();
    inNs('nft', 'add', 'rule', 'inet', 'beckon', 'out', 'tcp', 'dport', String(dropped), 'drop');

    const fromStart = await runIn(netns, [
      'serve',
      '-q',
      '--no-groups',
      '--port',
      '0',
      '--duration',
      '3s',
      '--registry',
      `etcd://127.0.0.1:${dropped}`,
      '--advertise-address',
      '192.0.2.90',
    ]).done;
    assert.equal(fromStart.code, 0, fromStart.output);
    assert.match(fromStart.output, /unreachable or refusing: no member accepts connections/);
    assert.ok(fromStart.ms < 3000 + 6000, `exited after ${fromStart.ms} ms (duration 3 s)`);

    const doctor = await runIn(netns, [
      'doctor',
      '--no-self-test',
      '--registry',
      `etcd://127.0.0.1:${dropped}`,
    ]).done;
    assert.equal(doctor.code, 1, doctor.output);
    assert.ok(doctor.ms < 10_000, `doctor took ${doctor.ms} ms`);

    // Mid-run: registered, then etcd's port starts dropping, then the duration ends.
    const clientPort = await freePort();
    const etcd = await launchEtcd({
      wrap: ['ip', 'netns', 'exec', netns],
      clientPort,
      peerPort: await freePort(),
    });
    t.after(() => etcd.cleanup());
    const midRun = runIn(netns, [
      'serve',
      '--no-groups',
      '--port',
      '0',
      '--duration',
      '6s',
      '--lease',
      '3s',
      '--registry',
      etcd.url,
      '--advertise-address',
      '192.0.2.91',
    ]);
    const deadline = Date.now() + 10_000;
    let registered = false;
    midRun.child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('[OK] Registered in')) registered = true;
    });
    while (!registered && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(registered, 'registered before the drop');
    inNs('nft', 'add', 'rule', 'inet', 'beckon', 'out', 'tcp', 'dport', String(clientPort), 'drop');
    const result = await midRun.done;
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /unreachable or refusing/);
    assert.ok(result.ms < 6000 + 6000, `exited after ${result.ms} ms (duration 6 s)`);
  });

  it('registers again within seconds after a silent partition longer than its lease heals', async (t) => {
    if (!requirePrerequisite(t, canBuildLab(), 'root with iproute2 and network namespaces')) return;
    if (!requirePrerequisite(t, hasCommand('nft'), 'nftables (nft)')) return;
    const netns = `beckon-reg-part-${process.pid}`;
    const inNs = (...args: string[]) =>
      execFileSync('ip', ['netns', 'exec', netns, ...args], { stdio: 'pipe' });
    execFileSync('ip', ['netns', 'add', netns]);
    t.after(() => execFileSync('ip', ['netns', 'delete', netns]));
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('nft', 'add', 'table', 'inet', 'beckon');
    inNs(
      'nft',
      'add',
      'chain',
      'inet',
      'beckon',
      'out',
      '{ type filter hook output priority 0 ; }',
    );
    const clientPort = await freePort();
    const etcd = await launchEtcd({
      wrap: ['ip', 'netns', 'exec', netns],
      clientPort,
      peerPort: await freePort(),
    });
    t.after(() => etcd.cleanup());
    const serve = runIn(netns, [
      'serve',
      '--no-groups',
      '--port',
      '0',
      '--duration',
      '40s',
      '--lease',
      '2s',
      '--registry',
      etcd.url,
      '--advertise-address',
      '192.0.2.92',
    ]);
    t.after(() => serve.child.kill('SIGKILL'));
    const waitKeys = async (count: number, ms: number) => {
      const deadline = Date.now() + ms;
      while (countKeys(netns, clientPort, 'beckon/') !== count) {
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 100));
      }
      return true;
    };
    assert.ok(await waitKeys(1, 10_000), 'registered');
    // The responder's packets to etcd are dropped (etcd's own answers are not needed to
    // show it): its lease runs out and etcd deletes the key.
    inNs('nft', 'add', 'rule', 'inet', 'beckon', 'out', 'tcp', 'dport', String(clientPort), 'drop');
    const dropped = performance.now();
    await new Promise((r) => setTimeout(r, 8000));
    inNs('nft', 'flush', 'chain', 'inet', 'beckon', 'out');
    const healed = performance.now();
    assert.ok(await waitKeys(1, 10_000), 'registered again after the partition');
    t.diagnostic(
      `partition of ${((healed - dropped) / 1000).toFixed(0)} s: registered again ${(performance.now() - healed).toFixed(0)} ms after it healed`,
    );
    serve.child.kill('SIGTERM');
    const result = await serve.done;
    assert.equal(result.code, 0, result.output);
    assert.equal(result.output.match(/unreachable or refusing/g)?.length, 1, result.output);
  });
});
