/** The differential suite in the network-namespace lab (see world.ts): its first scenarios. */
import { startLabWorld } from './lab-world.js';
import { describeScenarios } from './suite.js';

describeScenarios('differential suite, lab (1)', startLabWorld, 0, 5);
