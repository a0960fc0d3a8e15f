/**
 * For the presence lab tests and bench: the library's `watch(options)` (options in argv[2], JSON)
 * printing one JSON line per event, `{ event, reason?, at, lastSeen?, server }`, with `at` and
 * `lastSeen` in epoch milliseconds. `lastSeen` (on `down`) is when the watcher last heard the
 * server, read from `watcher.table` every 20 ms: what a lease is counted from. Prints `ready`
 * once started; stops on SIGTERM.
 */
import { watch } from '../../../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const watcher = watch(options);
const lastSeen = new Map<string, number>();
const keyOf = (server: { metadata?: { instanceId?: string } | undefined; url: string }) =>
  server.metadata?.instanceId ?? server.url;
const read = () => {
  for (const row of watcher.table) lastSeen.set(keyOf(row.server), row.lastSeen.getTime());
};
const timer = setInterval(read, 20);
watcher.on('up', (server) => {
  read();
  line({ event: 'up', at: Date.now(), server });
});
watcher.on('update', (server) => {
  read();
  line({ event: 'update', at: Date.now(), server });
});
watcher.on('down', (server, reason) => {
  line({ event: 'down', reason, at: Date.now(), lastSeen: lastSeen.get(keyOf(server)), server });
});
line({ event: 'ready', at: Date.now() });
process.once('SIGTERM', () => {
  clearInterval(timer);
  void watcher.close();
});
