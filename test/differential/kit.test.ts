/** The differential suite on `beckon/testing`'s simulated network (see world.ts). */
import { describe, it } from 'node:test';
import { startKitWorld } from './kit-world.js';
import { scenarios } from './scenarios.js';

describe('differential suite, kit', () => {
  for (const scenario of scenarios) {
    it(scenario.name, async (t) => {
      await scenario.run(await startKitWorld(t, scenario.spec), t);
    });
  }
});
