// Vitest runs only the Vitest example, examples/vitest-kit.spec.js (`npx vitest run`): beckon's
// own tests and examples/test-kit.test.js are node:test files (`npm test`). No cache is written.
import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { include: ['examples/*.spec.js'], cache: false } });
