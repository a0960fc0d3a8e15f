import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { requirePrerequisite } from '../helpers/prerequisite.js';
import { LabProcess } from '../helpers/process.js';
import { canBuildLab, ROOT, startLab } from './lab.js';

const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });

/** False once `pid` is gone or a zombie (a container's PID 1 may never reap it). */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Runs the held-lab fixture; resolves with its lab id and the PID running inside the lab. */
async function holdLab(mode: 'fail' | 'wait') {
  const child = new LabProcess(
    process.execPath,
    ['--import', 'tsx', 'test/lab/fixtures/held-lab.ts', mode],
    {
      cwd: ROOT,
    },
  );
  const [, id, pid] = await child.waitFor(/LAB (\S+) PID (\d+)/);
  return { child, id: id ?? '', pid: Number(pid) };
}

describe('the lab', () => {
  it('builds hosts, segments, routes and forwarding as described, with unique names', async (t) => {
    // A host may even be called "switch", like the namespace holding the bridges.
    const lab = await startLab(t, {
      router: {
        router: true,
        interfaces: {
          eth0: { segment: 'a', address: '10.98.1.1/24' },
          eth1: { segment: 'b', address: ['10.98.2.1/24', '10.98.3.1/24'] },
        },
      },
      host: {
        interfaces: { lan0: { segment: 'a', address: '10.98.1.10/24' } },
        gateway: '10.98.1.1',
        routes: [{ to: '10.98.2.0/24', via: '10.98.1.1' }],
      },
    });
    if (!lab) return;
    const other = await startLab(t, {
      host: { interfaces: { eth0: { segment: 'a', address: '10.98.1.10/24' } } },
      switch: { interfaces: { eth0: { segment: 'a', address: '10.98.1.11/24' } } },
    });
    assert.notEqual(lab.host('host').netns, other?.host('host').netns);

    const router = lab.host('router');
    assert.match(
      router.ip('-4', 'addr', 'show', 'eth1'),
      /10\.98\.2\.1\/24[\s\S]*10\.98\.3\.1\/24/,
    );
    assert.equal(router.readProc('sys/net/ipv4/ip_forward'), '1');
    assert.equal(lab.host('host').readProc('sys/net/ipv4/ip_forward'), '0');
    assert.match(lab.host('host').ip('route'), /^default via 10\.98\.1\.1 dev lan0/m);
    assert.match(lab.host('host').ip('route'), /^10\.98\.2\.0\/24 via 10\.98\.1\.1 dev lan0/m);
    assert.match(lab.host('host').ip('link', 'show', 'lan0'), /state UP/);
    assert.throws(() => lab.host('nobody'), /No host "nobody"/);
    // The test's own namespace got nothing.
    assert.doesNotMatch(execFileSync('ip', ['link'], { encoding: 'utf8' }), /lan0/);
  });

  it('removes its namespaces and kills its processes when a test fails', async (t) => {
    if (!requirePrerequisite(t, canBuildLab(), 'root with iproute2 and network namespaces')) return;
    const { child, id, pid } = await holdLab('fail');
    const { status } = await child.exited;
    assert.equal(status, 1, child.stdout + child.stderr);
    assert.match(child.stdout, /failing on purpose/);
    assert.ok(!namespaces().includes(id), `namespaces of ${id} left behind`);
    assert.equal(isRunning(pid), false, `process ${pid} left running`);
  });

  it('removes its namespaces and kills its processes on Ctrl+C', async (t) => {
    if (!requirePrerequisite(t, canBuildLab(), 'root with iproute2 and network namespaces')) return;
    const { child, id, pid } = await holdLab('wait');
    assert.ok(namespaces().includes(id));
    assert.equal(isRunning(pid), true);
    const { signal } = await child.stop('SIGINT');
    assert.equal(signal, 'SIGINT');
    assert.ok(!namespaces().includes(id), `namespaces of ${id} left behind`);
    assert.equal(isRunning(pid), false, `process ${pid} left running`);
  });
});
