// A Fastify app that is discoverable on the LAN while it listens.
//   npm run build && node examples/fastify.js    then, elsewhere: npx beckon discover
// PORT (default 8080) and DISCOVERY_PORT (default 9999) choose the ports; 0 picks free ones.
import beckon from 'beckon/fastify';
import Fastify from 'fastify';

const app = Fastify({ logger: true }); // discovery logs through the app's logger
app.get('/', async () => 'Hello from Fastify!\n');
await app.register(beckon); // starts when the app listens, stops in its close hook
await app.listen({ port: Number(process.env.PORT ?? 8080), host: '0.0.0.0' });

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    app.log.info(`${signal}: closing`);
    void app.close(); // discovery stops in the close hook; the process then exits 0
  });
}
