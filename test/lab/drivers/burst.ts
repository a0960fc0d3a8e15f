/**
 * For the scan labs: a burst of plain requests to one responder, counting the replies.
 *
 *   burst.ts <target> <sources> <count> <intervalMs> [<waitMs>]
 *
 * From each local address in `sources` (comma-separated; each gets its own socket), `count`
 * requests `DISCOVER_SERVER` to <target>:9999, one round every `intervalMs` (all sources in a
 * round back to back); then waits `waitMs` (default 1000) for late replies. Prints one JSON
 * line: `{ "sent", "replies", "bySource": { <address>: <replies> }, "sendMs" }`, where
 * `sendMs` is the time from the first request to the last.
 */
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';

const [target = '127.0.0.1', list = '0.0.0.0', countText = '1', intervalText = '0', waitText] =
  process.argv.slice(2);
const count = Number(countText);
const interval = Number(intervalText);
const sockets = new Map<string, Socket>();
const bySource: Record<string, number> = {};
let replies = 0;
for (const address of list.split(',')) {
  const socket = createSocket('udp4');
  socket.bind(0, address);
  await once(socket, 'listening');
  bySource[address] = 0;
  socket.on('message', () => {
    replies++;
    bySource[address] = (bySource[address] ?? 0) + 1;
  });
  sockets.set(address, socket);
}
const request = Buffer.from('DISCOVER_SERVER');
const started = performance.now();
let sent = 0;
for (let round = 0; round < count; round++) {
  if (round > 0 && interval > 0) await new Promise((resolve) => setTimeout(resolve, interval));
  for (const socket of sockets.values()) {
    socket.send(request, 9999, target);
    sent++;
  }
}
const sendMs = performance.now() - started;
await new Promise((resolve) => setTimeout(resolve, Number(waitText ?? 1000)));
for (const socket of sockets.values()) socket.close();
process.stdout.write(`${JSON.stringify({ sent, replies, bySource, sendMs })}\n`);
