/** Named nftables counters in lab hosts: what reached (or left) a host's wire. */
import type { LabHost } from './lab.js';

/**
 * The packets counted so far by the named counter `name` (`counter <name> {}` in a table loaded
 * with `host.nft`). Names must be unique across the host's tables. Throws when there is none.
 */
export function nftCounter(host: LabHost, name: string): number {
  const match = new RegExp(`counter ${name} \\{\\s*packets (\\d+)`).exec(host.nftList());
  if (!match) throw new Error(`no nftables counter "${name}" in ${host.name}`);
  return Number(match[1]);
}
