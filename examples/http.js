// A node:http server that is discoverable on the LAN while it listens.
//   npm run build && node examples/http.js       then, elsewhere: npx beckon discover
// PORT (default 8080) and DISCOVERY_PORT (default 9999) choose the ports; 0 picks free ones.
import { createServer } from 'node:http';
import { attachDiscovery } from 'beckon/http';

const server = createServer((_request, response) => response.end('Hello from node:http!\n'));
attachDiscovery(server, { logger: console }); // starts on 'listening', stops on 'close'
server.listen(Number(process.env.PORT ?? 8080), () => {
  console.log(`node:http listening on port ${server.address().port}`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`${signal}: closing`);
    server.close(); // discovery stops with it; the process then exits 0
  });
}
