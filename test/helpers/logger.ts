/** Loggers for tests that check what the library logs. */
import type { Logger } from '../../src/index.js';

/** A logger that keeps its warnings and drops everything else. */
export function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  const off = () => {};
  return { warnings, debug: off, info: off, error: off, warn: (m) => warnings.push(m) };
}
