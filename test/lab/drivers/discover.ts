/**
 * Runs the library's discovery inside a lab host and prints the outcome as JSON on stdout.
 *
 *   discover.ts '<options JSON>'          discover(options): prints the array of servers
 *   discover.ts '<options JSON>' <count>  discoverOne(options) <count> times in a row: prints
 *                                         { found, missed, servers: the distinct URLs found }
 */
import { discover, discoverOne } from '../../../src/index.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const count = process.argv[3] === undefined ? undefined : Number(process.argv[3]);

if (count === undefined) {
  process.stdout.write(`${JSON.stringify(await discover(options))}\n`);
} else {
  let found = 0;
  const urls = new Set<string>();
  for (let i = 0; i < count; i++) {
    const server = await discoverOne(options);
    if (server) {
      found++;
      urls.add(server.url);
    }
  }
  process.stdout.write(`${JSON.stringify({ found, missed: count - found, servers: [...urls] })}\n`);
}
