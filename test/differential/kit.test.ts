/** The differential suite on `beckon/testing`'s simulated network (see world.ts): all of it. */
import { startKitWorld } from './kit-world.js';
import { describeScenarios } from './suite.js';

describeScenarios('differential suite, kit', startKitWorld);
