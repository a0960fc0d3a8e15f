/** Runs one discovery many times, a few at once: how the loss scenarios count what is found. */

/** What {@link repeat} counted. */
export interface Repeated {
  readonly found: number;
  readonly missed: number;
  /** The distinct URLs found. */
  readonly servers: string[];
}

/** Calls `once` (a `discoverOne()`) `count` times, at most `parallel` at once. */
export async function repeat(
  once: () => Promise<{ url: string } | undefined>,
  count: number,
  parallel: number,
): Promise<Repeated> {
  let started = 0;
  let found = 0;
  const urls = new Set<string>();
  const worker = async () => {
    while (started < count) {
      started++;
      const server = await once();
      if (server) {
        found++;
        urls.add(server.url);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return { found, missed: count - found, servers: [...urls] };
}
