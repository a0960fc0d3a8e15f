/** Polling for a condition in tests that run on real time. */

/**
 * Resolves once `check()` (awaited) is true, asking every `everyMs`; rejects, naming `what`,
 * after `ms` milliseconds.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  everyMs = 50,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
