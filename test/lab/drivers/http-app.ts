/**
 * A node:http app with discovery attached, for lab hosts: listens on HOST:PORT (argv[2], argv[3]),
 * answers discovery on UDP 9999 (forced on: the lab runs under the test runner), and prints
 * `ready` once discovery has settled. Stops on SIGTERM.
 */
import { createServer } from 'node:http';
import { attachDiscovery } from '../../../src/integrations/http.js';

const [host = '0.0.0.0', port = '8080'] = process.argv.slice(2);
const server = createServer((_request, response) => response.end('lab app\n'));
const logger = { ...console, debug: () => {} };
const handle = attachDiscovery(server, { enabled: true, logger });
server.listen(Number(port), host);
process.stdout.write(`ready ${await handle.settled()}\n`);
process.once('SIGTERM', () => server.close());
