/**
 * Runs the library's discovery inside a lab host and prints the outcome as JSON on stdout.
 *
 *   discover.ts '<options JSON>'                       discover(options): the array of servers
 *   discover.ts '<options JSON>' <count> [<parallel>]  discoverOne(options) <count> times, at most
 *       <parallel> (default 1) at once: { found, missed, servers: the distinct URLs found }
 */
import { discover, discoverOne } from '../../../src/index.js';
import { repeat } from '../../helpers/repeat.js';

const options = JSON.parse(process.argv[2] ?? '{}');
const count = process.argv[3] === undefined ? undefined : Number(process.argv[3]);
const parallel = Number(process.argv[4] ?? 1);

if (count === undefined) {
  process.stdout.write(`${JSON.stringify(await discover(options))}\n`);
} else {
  const outcome = await repeat(() => discoverOne(options), count, parallel);
  process.stdout.write(`${JSON.stringify(outcome)}\n`);
}
