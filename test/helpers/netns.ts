/** Throwaway network namespaces for tests that need a real non-loopback interface. */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** Whether this process may create network namespaces (root with iproute2). */
export function canUseNetns(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync('ip', ['netns', 'list']).status === 0;
}

/**
 * Creates a namespace with loopback up and a veth pair `v0`/`v1`, `v0` holding `cidr`.
 * Returns its name and a `remove()` that always deletes it.
 */
export function createNamespace(cidr: string): { name: string; remove: () => void } {
  const name = `beckon-t-${process.pid}-${randomBytes(3).toString('hex')}`;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'pipe' });
  ip('netns', 'add', name);
  const remove = () => {
    spawnSync('ip', ['netns', 'del', name]);
  };
  try {
    ip('-n', name, 'link', 'set', 'lo', 'up');
    ip('-n', name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
    ip('-n', name, 'addr', 'add', cidr, 'dev', 'v0');
    ip('-n', name, 'link', 'set', 'v0', 'up');
    ip('-n', name, 'link', 'set', 'v1', 'up');
  } catch (error) {
    remove();
    throw error;
  }
  return { name, remove };
}
