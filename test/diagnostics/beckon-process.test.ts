import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runsBeckonCli } from '../../src/diagnostics/beckon-process.js';
import { runDoctor } from '../../src/diagnostics/doctor.js';
import { hasPython, PYTHON, requirePrerequisite } from '../helpers/prerequisite.js';
import { LabProcess } from '../helpers/process.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin', 'beckon.js');
const KEY = 'dGVzdC1rZXktZm9yLWJlY2tvbi1kb2N0b3ItdGVzdHM=';

/** A free UDP port on loopback (bound and let go). */
async function freePort(): Promise<number> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** What `git clone` makes: a folder named beckon, with beckon's package.json and the peers. */
let clone: string;
let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'beckon-process-'));
  clone = join(work, 'beckon');
  mkdirSync(join(clone, 'test', 'peers'), { recursive: true });
  mkdirSync(join(clone, 'bin'));
  copyFileSync(join(ROOT, 'package.json'), join(clone, 'package.json'));
  copyFileSync(
    join(ROOT, 'test', 'peers', 'original_server.py'),
    join(clone, 'test', 'peers', 'original_server.py'),
  );
  writeFileSync(join(clone, 'bin', 'beckon.js'), '// the bin entry of the clone\n');
  writeFileSync(join(clone, 'bin', 'other.js'), '// not the bin entry\n');
  // A package of another name whose bin entry is also called beckon.js.
  mkdirSync(join(work, 'impostor', 'bin'), { recursive: true });
  writeFileSync(
    join(work, 'impostor', 'package.json'),
    JSON.stringify({ name: 'impostor', bin: { beckon: './bin/beckon.js' } }),
  );
  writeFileSync(join(work, 'impostor', 'bin', 'beckon.js'), '');
  // What npm link or a global install makes: a symlink named beckon to the bin entry.
  mkdirSync(join(work, 'dot-bin'));
  symlinkSync(join(clone, 'bin', 'beckon.js'), join(work, 'dot-bin', 'beckon'));
});
after(() => rmSync(work, { recursive: true, force: true }));

describe('runsBeckonCli', () => {
  it('is true for the bin entry of a package named beckon, by real path', () => {
    assert.equal(runsBeckonCli(['node', join(clone, 'bin', 'beckon.js'), 'serve'], '/'), true);
    assert.equal(runsBeckonCli(['node', 'bin/beckon.js', 'serve'], clone), true);
    assert.equal(runsBeckonCli(['node', join(work, 'dot-bin', 'beckon'), 'serve'], '/'), true);
    assert.equal(
      runsBeckonCli(['node', '--enable-source-maps', '../beckon/bin/beckon.js'], join(work, 'x')),
      true,
    );
    assert.equal(runsBeckonCli(['node', BIN, 'serve'], '/'), true, 'this checkout');
  });

  it('is false for anything else inside a folder or package named beckon', () => {
    const server = join(clone, 'test', 'peers', 'original_server.py');
    assert.equal(runsBeckonCli([PYTHON, server], '/'), false);
    assert.equal(runsBeckonCli([PYTHON, 'test/peers/original_server.py'], clone), false);
    assert.equal(runsBeckonCli(['node', join(clone, 'bin', 'other.js')], '/'), false);
    assert.equal(runsBeckonCli(['node', join(work, 'impostor', 'bin', 'beckon.js')], '/'), false);
    assert.equal(runsBeckonCli(['beckon', 'serve'], undefined), false, 'not a path');
    assert.equal(runsBeckonCli(['node', 'bin/beckon.js'], undefined), false, 'no cwd');
    assert.equal(runsBeckonCli([], '/'), false);
  });
});

describe('doctor tells beckon from the original by what runs, not by the folder', () => {
  const started: LabProcess[] = [];
  after(async () => {
    for (const child of started) child.kill('SIGKILL');
    await Promise.all(started.map((child) => child.exited));
  });

  it('the original server run from a clone named beckon answers discovery and is not beckon', async (t) => {
    if (!requirePrerequisite(t, hasPython(), `Python at ${PYTHON}`)) return;
    const port = await freePort();
    const server = join(clone, 'test', 'peers', 'original_server.py');
    const original = new LabProcess(PYTHON, [
      server,
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--quiet',
    ]);
    started.push(original);
    await original.waitFor(/UDP Discovery listener started on port \d+/);
    const report = await runDoctor({ port, selfTest: false, env: {} });
    // It answers, though with its default-route address (not 127.0.0.1) on most machines.
    assert.equal(report.port.answers, 'discovery');
    assert.equal(report.findings.find((f) => f.id === 'port-answers')?.severity, 'info');
    const holder = report.port.holders.find((h) => h.pid === original.child.pid);
    assert.ok(holder, JSON.stringify(report.port.holders));
    assert.match(holder.command, /\/beckon\/test\/peers\/original_server\.py/);
    assert.equal(holder.beckon, false);
    assert.equal(report.port.beckon, false);
  });

  it('a beckon serve that stays silent (a key) is still recognised by what it runs', async () => {
    const port = await freePort();
    // Started through a symlink, as a global install or node_modules/.bin does.
    const link = join(work, 'dot-bin', 'beckon-real');
    symlinkSync(BIN, link);
    const ours = new LabProcess(
      process.execPath,
      [link, 'serve', '--port', String(port), '--bind-address', '127.0.0.1'],
      { env: { DISCOVERY_AUTH_KEYS: KEY } },
    );
    started.push(ours);
    await ours.waitFor(/\[OK\] Listening on/);
    const report = await runDoctor({ port, selfTest: false, env: {} });
    assert.equal(report.port.answers, 'nothing', 'an unsigned request gets no answer');
    const holder = report.port.holders.find((h) => h.pid === ours.child.pid);
    assert.ok(holder, JSON.stringify(report.port.holders));
    assert.equal(holder.beckon, true);
    assert.equal(report.port.beckon, true);
    // It shares the port: silent to unsigned requests, but no obstacle to the host's other services.
    assert.equal(report.port.shares, true);
    const finding = report.findings.find((f) => f.id === 'port-answers');
    assert.equal(finding?.severity, 'info');
    assert.match(finding?.message ?? '', /answers only requests with a key or for a service/);
  });
});
