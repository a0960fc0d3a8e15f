/**
 * A lab link for benchmarks: two network namespaces joined by one veth pair (no bridge between
 * them), `eth0` on both sides. Needs root. The namespaces have unique names and are deleted,
 * with every process left in them, by `destroy()`, on exit and on SIGINT/SIGTERM/SIGHUP.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { LabHost } from '../../test/lab/lab.js';

const live = new Set<VethPair>();

export class VethPair {
  readonly id = `beckon-bench-${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly server = new LabHost('server', `${this.id}-server`);
  readonly client = new LabHost('client', `${this.id}-client`);
  readonly #created: string[] = [];

  /**
   * Creates both namespaces and the link, and waits until `eth0` is up on both sides with its
   * IPv6 link-local address past duplicate address detection. On failure, removes what it made.
   */
  static async create(): Promise<VethPair> {
    const pair = new VethPair();
    live.add(pair);
    try {
      for (const host of [pair.server, pair.client]) {
        execFileSync('ip', ['netns', 'add', host.netns], { stdio: 'pipe' });
        pair.#created.push(host.netns);
        host.ip('link', 'set', 'lo', 'up');
      }
      pair.server.ip(
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'name',
        'eth0',
        'netns',
        pair.client.netns,
      );
      for (const host of [pair.server, pair.client]) host.ip('link', 'set', 'eth0', 'up');
      for (const host of [pair.server, pair.client]) await host.waitUntilUp(['eth0']);
      return pair;
    } catch (error) {
      pair.destroy();
      throw error;
    }
  }

  /** Kills what still runs in the namespaces and deletes them; synchronous, safe to repeat. */
  destroy(): void {
    live.delete(this);
    for (const netns of this.#created.splice(0)) {
      const pids = spawnSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).stdout ?? '';
      for (const pid of pids.split('\n').filter(Boolean)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', netns]);
    }
  }
}

const destroyAll = () => {
  for (const pair of live) pair.destroy();
};
process.once('exit', destroyAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    destroyAll();
    process.kill(process.pid, signal); // then die of it, as without this handler
  });
}
