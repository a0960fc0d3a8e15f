/** The differential suite in the network-namespace lab (see world.ts): scenarios 6 to 10. */
import { startLabWorld } from './lab-world.js';
import { describeScenarios } from './suite.js';

describeScenarios('differential suite, lab (2)', startLabWorld, 5, 10);
