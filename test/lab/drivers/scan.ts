/**
 * For the scan labs: one library discovery run with a subnet scan, reporting when each server
 * was found.
 *
 *   scan.ts '<options JSON>'
 *
 * Runs `discoverStream(options)` and prints one JSON line per server as it arrives,
 * `{ "server": { ip, port, via, named }, "at": <ms since the run started> }` (`named`: the result
 * carries the server's instance id, from an extended answer), one per scan trace event
 * other than progress, `{ "trace": <event> }`, and at the end `{ "end": <ms since start> }`.
 */
import { discoverStream } from '../../../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const started = performance.now();
const since = () => Math.round(performance.now() - started);
for await (const server of discoverStream({
  ...options,
  trace: (event) => {
    if (event.type.startsWith('scan-') && event.type !== 'scan-progress') line({ trace: event });
  },
})) {
  const named = server.metadata?.instanceId !== undefined;
  line({ server: { ip: server.ip, port: server.port, via: server.via, named }, at: since() });
}
line({ end: since() });
