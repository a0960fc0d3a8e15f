/** The differential suite in the network-namespace lab (see world.ts). */
import { describe, it } from 'node:test';
import { startLabWorld } from './lab-world.js';
import { scenarios } from './scenarios.js';

describe('differential suite, lab', () => {
  for (const scenario of scenarios) {
    it(scenario.name, async (t) => {
      const world = await startLabWorld(t, scenario.spec);
      if (!world) return;
      await scenario.run(world, t);
    });
  }
});
