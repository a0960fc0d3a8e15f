/** What a discovery call puts on the wire, from its trace: for the benchmarks' notes. */
import { type DiscoverOptions, discoverOne, type TraceEvent } from '../../src/index.js';

/**
 * Runs one discoverOne() with `options` and lists the datagrams of its first round:
 * `IPv4 127.0.0.1 (15 bytes)`.
 */
export async function firstRoundSends(options: DiscoverOptions): Promise<string[]> {
  const events: TraceEvent[] = [];
  await discoverOne({ env: {}, ...options, trace: (event) => events.push(event) });
  return events.flatMap((e) =>
    e.type === 'send' && e.round === 1
      ? [`${e.family} ${e.to} (${e.bytes} bytes${e.error ? `, failed: ${e.error}` : ''})`]
      : [],
  );
}
