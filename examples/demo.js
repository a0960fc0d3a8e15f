// npm run demo: an HTTP server with discovery on, found over this machine's interfaces.
// 1. start a plain node:http server on a free port
// 2. start a beckon responder that advertises that port
// 3. discover it: first on the real (non-loopback) interfaces, then on loopback if none answered
// 4. fetch the URL that discovery returned
import { createServer } from 'node:http';
import { createResponder, discover, listInterfaces } from 'beckon';

const http = createServer((_request, response) => response.end('Hello from the beckon demo!\n'));
await new Promise((resolve) => http.listen(0, resolve));
const httpPort = http.address().port;
console.log(`1. HTTP server listening on port ${httpPort}`);

// Port 0 picks a free UDP port so the demo never clashes with a real responder on 9999.
const responder = createResponder({ port: 0, httpPort });
await responder.start();
console.log(
  `2. Discovery responder on UDP port ${responder.port}, advertising HTTP port ${httpPort}`,
);

const lan = listInterfaces().filter((i) => !i.loopback && !i.linkLocal && i.broadcast);
console.log(
  `3. Discovering on ${lan.map((i) => `${i.name} (${i.address}/${i.prefix} -> ${i.broadcast})`).join(', ') || 'no LAN interface'}...`,
);
let servers = await discover({ port: responder.port, timeout: 1500 });
if (servers.length === 0) {
  console.log('   Nothing answered on the LAN interfaces; trying loopback.');
  servers = await discover({
    port: responder.port,
    timeout: 1000,
    interfaces: ['lo*', '127.0.0.0/8'],
  });
}
for (const server of servers) {
  console.log(`   Found ${server.url} on ${server.interface ?? '?'} in ${server.rttMs} ms`);
}

const [server] = servers;
if (server) {
  const response = await fetch(server.url);
  console.log(
    `4. GET ${server.url} -> ${response.status} ${JSON.stringify(await response.text())}`,
  );
} else {
  console.log(
    '4. Nothing found: see "beckon discover --help" and the README troubleshooting notes.',
  );
  process.exitCode = 1;
}

await responder.stop();
http.close();
console.log('Done.');
