/**
 * Runs the library's discovery inside a lab host and prints the outcome as JSON on stdout.
 *
 *   discover.ts '<options JSON>'                       discover(options): the array of servers
 *   discover.ts '<options JSON>' <count> [<parallel>]  discoverOne(options) <count> times, at most
 *       <parallel> (default 1) at once: { found, missed, servers: the distinct URLs found }
 */
import { discover, discoverOne } from '../../../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const count = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const parallel = Number(process.argv[4] ?? 1);

if (count === undefined) {
  process.stdout.write(`${JSON.stringify(await discover(options))}\n`);
} else {
  let started = 0;
  let found = 0;
  const urls = new Set<string>();
  const worker = async () => {
    while (started < count) {
      started++;
      const server = await discoverOne(options);
      if (server) {
        found++;
        urls.add(server.url);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  process.stdout.write(`${JSON.stringify({ found, missed: count - found, servers: [...urls] })}\n`);
}
