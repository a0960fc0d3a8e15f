/** Runs scenarios as node:test tests in one world. */
import { describe, it } from 'node:test';
import { scenarios } from './scenarios.js';
import type { StartWorld } from './world.js';

/**
 * One test per scenario (those from index `from` to before `to`: the lab's are split over files
 * that each stay well under a minute), in the world `start` builds.
 */
export function describeScenarios(title: string, start: StartWorld, from = 0, to?: number): void {
  describe(title, () => {
    for (const scenario of scenarios.slice(from, to)) {
      it(scenario.name, async (t) => {
        const world = await start(t, scenario.spec);
        if (!world) return;
        await scenario.run(world, t);
      });
    }
  });
}
