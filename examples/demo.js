// npm run demo: the Express example app, found over this machine's interfaces.
// 1. start examples/express.js (discovery attached) on free HTTP and UDP ports
// 2. discover it: first on the real (non-loopback) interfaces, IPv4 and IPv6, then on loopback
//    if none answered
// 3. fetch the URL that discovery returned
// 4. stop the app with SIGTERM: discovery closes with it
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { get } from 'node:http';
import { createInterface } from 'node:readline';
import { discover, httpRequestTarget, listInterfaces } from 'beckon';

// Port 0 picks free ports, so the demo never clashes with a real responder on 9999. The demo
// may itself run under a test runner: drop its markers, or the app would keep discovery off.
const app = spawn(process.execPath, [new URL('./express.js', import.meta.url).pathname], {
  env: { ...process.env, PORT: '0', DISCOVERY_PORT: '0', NODE_ENV: '', NODE_TEST_CONTEXT: '' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const exited = once(app, 'exit');
const lines = createInterface({ input: app.stdout });
let stopped = false;
const udpPort = await new Promise((resolve, reject) => {
  lines.on('line', (line) => {
    const ready = /Discovery answering on UDP port (\d+), advertising http port (\d+)/.exec(line);
    if (ready) {
      console.log(`1. Express app on HTTP port ${ready[2]}, discovery on UDP port ${ready[1]}`);
      resolve(Number(ready[1]));
    }
    if (/UDP discovery responder stopped/.test(line)) stopped = true;
    if (/Discovery is (off|disabled)|Discovery not started/.test(line)) reject(new Error(line));
  });
  exited.then(() => reject(new Error('the Express example exited early')));
  setTimeout(() => reject(new Error('the Express example did not start in 10 s')), 10_000).unref();
}).catch((error) => {
  app.kill();
  throw error;
});

const lan = listInterfaces().filter((i) => !i.loopback && !i.linkLocal && i.broadcast);
console.log(
  `2. Discovering on ${lan.map((i) => `${i.name} (${i.address}/${i.prefix} -> ${i.broadcast})`).join(', ') || 'no LAN interface'}...`,
);
let servers = await discover({ port: udpPort, timeout: 1500 });
if (servers.length === 0) {
  console.log('   Nothing answered on the LAN interfaces; trying loopback.');
  servers = await discover({ port: udpPort, timeout: 1000, interfaces: ['lo*', '127.0.0.0/8'] });
}
for (const server of servers) {
  console.log(`   Found ${server.url} on ${server.interface ?? '?'} in ${server.rttMs} ms`);
}

const [server] = servers;
if (server) {
  const { status, body } = await httpGet(server.url);
  console.log(`3. GET ${server.url} -> ${status} ${JSON.stringify(body)}`);
} else {
  console.log(
    '3. Nothing found: try "npx beckon discover --verbose" to see what was sent and skipped.',
  );
  process.exitCode = 1;
}

app.kill('SIGTERM');
const [code] = await exited;
console.log(
  `4. SIGTERM: the app exited with code ${code}, discovery ${stopped ? 'closed' : 'NOT closed'}`,
);
if (code !== 0 || !stopped) process.exitCode = 1;

/**
 * GET `url`: with fetch(), or, for a server found only by its link-local IPv6 address, whose URL
 * carries a zone (http://[fe80::1%25eth0]:8080) that fetch() refuses, with http.get() through
 * httpRequestTarget().
 */
async function httpGet(url) {
  if (URL.canParse(url)) {
    const response = await fetch(url);
    return { status: response.status, body: await response.text() };
  }
  return new Promise((resolve, reject) => {
    get(httpRequestTarget(url), (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode, body }));
    }).on('error', reject);
  });
}
