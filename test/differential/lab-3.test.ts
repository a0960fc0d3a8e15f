/** The differential suite in the network-namespace lab (see world.ts): the last scenarios. */
import { startLabWorld } from './lab-world.js';
import { describeScenarios } from './suite.js';

describeScenarios('differential suite, lab (3)', startLabWorld, 10);
