// A Koa app that is discoverable on the LAN while it listens.
//   npm run build && node examples/koa.js        then, elsewhere: npx beckon discover
// PORT (default 8080) and DISCOVERY_PORT (default 9999) choose the ports; 0 picks free ones.
import { attachDiscovery } from 'beckon/http';
import Koa from 'koa';

const app = new Koa();
app.use((context) => {
  context.body = 'Hello from Koa!\n';
});

const server = app.listen(Number(process.env.PORT ?? 8080), () => {
  console.log(`Koa listening on port ${server.address().port}`);
});
attachDiscovery(server, { logger: console }); // starts on 'listening', stops on 'close'

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`${signal}: closing`);
    server.close(); // discovery stops with it; the process then exits 0
  });
}
