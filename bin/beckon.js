#!/usr/bin/env node
// One bundle (split per command) loads in a few ms instead of tens: see docs/performance.md.
import { main } from '../dist/cli-bundle/main.js';

process.exitCode = await main(process.argv.slice(2));
