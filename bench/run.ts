// npm run bench [-- NAME...]: runs the benchmarks (all, or those named) one after the other and
// prints each one's table. Every figure is a ratio against a reference measured in the same run.
// Needs gcc; fleet, first-result-lab, presence and scan also need root (network namespaces).
const benchmarks = {
  responder: () => import('./responder.js'),
  'host-app': () => import('./host-app.js'),
  'first-result': () => import('./first-result.js'),
  'first-result-lab': () => import('./first-result-lab.js'),
  fleet: () => import('./fleet.js'),
  'many-services': () => import('./many-services.js'),
  presence: () => import('./presence.js'),
  scan: () => import('./scan.js'),
} as const;

type Name = keyof typeof benchmarks;
const isName = (name: string): name is Name => Object.hasOwn(benchmarks, name);

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !isName(name));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark ${unknown.join(', ')}; known: ${Object.keys(benchmarks).join(', ')}`,
  );
  process.exit(2);
}
const names = requested.length > 0 ? requested.filter(isName) : (Object.keys(benchmarks) as Name[]);
console.log(
  `# beckon benchmarks (node ${process.version}, ${(await import('node:os')).cpus().length} CPUs)`,
);
for (const name of names) {
  const bench = await benchmarks[name]();
  await bench.run();
}
