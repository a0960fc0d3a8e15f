/**
 * The decision trace of one discovery run: which interfaces it used and why not the others,
 * what it sent where, what came back and what it dropped and why. Delivered to the `trace`
 * option and published on the `beckon:discover` diagnostics channel.
 */
import { channel } from 'node:diagnostics_channel';
import type { InterfaceClass } from '../network/classify.js';
import type { SkipReason } from '../network/select.js';
import type { LinkSkipReason } from '../network/select6.js';
import type { ReplyDropReason } from './protocol.js';

/** The diagnostics channel every discovery run publishes its {@link TraceEvent}s on. */
export const DISCOVER_CHANNEL = 'beckon:discover';

/**
 * What became of a reply:
 * - `accepted`: a new server, returned to the caller;
 * - `merged`: another address of a server already found (IPv6 beside IPv4, another
 *   interface): added to its `addresses`;
 * - `duplicate`: an address of a server already found, heard again (a retry, the group and
 *   broadcast both reaching it);
 * - `foreign`: it claims an address other than its source (see `acceptForeignAddresses`);
 * - `malformed`, `unauthenticated`, `unsolicited`, `stale`, `replay`: see {@link ReplyDropReason};
 * - `too-late`: it came after the run had ended (deadline or `maxResults`).
 */
export type ReplyOutcome =
  | 'accepted'
  | 'merged'
  | 'duplicate'
  | 'foreign'
  | 'too-late'
  | ReplyDropReason;

/** Fields every trace event has. */
export interface TraceBase {
  /** Numbers the runs of this process, to tell concurrent runs apart on the channel. */
  readonly run: number;
  /** Milliseconds since the run started. */
  readonly atMs: number;
}

/** What a discovery run reports, before the tracer stamps it with {@link TraceBase}. */
export type TraceFields =
  | {
      /** An interface address was considered for broadcasting. */
      readonly type: 'interface';
      readonly interface: string;
      readonly address: string;
      readonly class: InterfaceClass;
      /** The broadcast address used, or undefined when the interface was skipped. */
      readonly broadcast: string | undefined;
      /** Why it was skipped; undefined when used. */
      readonly skipped: SkipReason | undefined;
    }
  | {
      /** An IPv6 link was considered for the IPv6 group. */
      readonly type: 'link';
      readonly interface: string;
      /** Its IPv6 addresses; link-local ones with their zone. */
      readonly addresses: readonly string[];
      /** Where requests go on it (the group zoned with its name, `::1` for loopback); undefined when skipped. */
      readonly group: string | undefined;
      /** Why it was skipped; undefined when used. */
      readonly skipped: LinkSkipReason | undefined;
    }
  | {
      /**
       * An `interfaces` (include) or `exclude` pattern matched no interface of this host: a typo,
       * or an interface that is not up. An include pattern matching nothing is also a warning.
       */
      readonly type: 'unmatched-pattern';
      readonly option: 'interfaces' | 'exclude';
      readonly pattern: string;
    }
  | {
      /** A target host name did not resolve. */
      readonly type: 'unresolved';
      readonly target: string;
      readonly error: string;
    }
  | {
      /** A request was sent (or sending failed: `error`). */
      readonly type: 'send';
      /** The interface name, or `targets` for unicast targets. */
      readonly channel: string;
      readonly family: 'IPv4' | 'IPv6';
      readonly from: string;
      readonly to: string;
      readonly port: number;
      readonly bytes: number;
      /** 1 for the first round, 2 for the first retry... */
      readonly round: number;
      readonly error: string | undefined;
    }
  | {
      /** A datagram came back. */
      readonly type: 'reply';
      readonly channel: string;
      readonly from: string;
      readonly fromPort: number;
      readonly bytes: number;
      readonly outcome: ReplyOutcome;
      /** The `ip:port` the reply claims, when it could be read. */
      readonly claims: string | undefined;
    }
  | {
      /**
       * A Fernet reply had the right key but a time outside the replay window (its `reply`
       * event says `stale`): the server's clock is off by `skewMs`.
       */
      readonly type: 'clock-skew';
      readonly channel: string;
      readonly from: string;
      readonly fromPort: number;
      /** The reply's time minus this host's, in milliseconds: positive when the server is ahead. */
      readonly skewMs: number;
      readonly windowMs: number;
    }
  | {
      /** A socket failed; discovery goes on with the others. */
      readonly type: 'socket-error';
      readonly channel: string;
      readonly error: string;
    }
  | {
      /** A subnet scan started (docs/beyond-one-lan.md). */
      readonly type: 'scan-start';
      /** The ranges, e.g. `10.20.0.0/16`. */
      readonly ranges: readonly string[];
      /** Addresses it will probe (network, broadcast and own addresses left out). */
      readonly addresses: number;
      /** Probes per second. */
      readonly rate: number;
      /** Started by `scan: 'auto'`, for the segmented `interfaces`. */
      readonly auto: boolean;
      readonly interfaces: readonly string[];
    }
  | {
      /** `scan: 'auto'` (or a scan) did not scan, and why. */
      readonly type: 'scan-skipped';
      readonly reason: 'found' | 'not-segmented' | 'no-socket';
      readonly detail: string;
    }
  | {
      /** Where a scan stands: every 250 ms while it runs, and at its end. */
      readonly type: 'scan-progress';
      readonly probed: number;
      readonly total: number;
      /** Servers found so far, by any path. */
      readonly found: number;
      /** Milliseconds still needed at the current rate. */
      readonly leftMs: number;
      /** Probes per second now: lower than asked for a while after ENOBUFS. */
      readonly rate: number;
    }
  | {
      /** A scan ended: every address probed (`complete`), or cut short by the run's end. */
      readonly type: 'scan-done';
      readonly probed: number;
      readonly total: number;
      /** Probes whose send failed. */
      readonly failed: number;
      readonly found: number;
      /** Milliseconds the scan took. */
      readonly ms: number;
      readonly complete: boolean;
    }
  | {
      /** The run ended. */
      readonly type: 'end';
      readonly reason: EndReason;
      readonly found: number;
    };

/** Why a run ended. */
export type EndReason = 'deadline' | 'max-results' | 'aborted' | 'nothing-to-send' | 'returned';

/** One event of a discovery run's decision trace; `type` tells which. */
export type TraceEvent = TraceBase & TraceFields;

const published = channel(DISCOVER_CHANNEL);
let runs = 0;

/**
 * Returns the function a run reports through: it stamps each event and hands it to `listener`
 * and to the diagnostics channel, and costs nothing when neither listens.
 */
export function createTracer(
  listener: ((event: TraceEvent) => void) | undefined,
): (fields: TraceFields) => void {
  const run = ++runs;
  const start = performance.now();
  return (fields) => {
    if (!listener && !published.hasSubscribers) return;
    const event: TraceEvent = {
      run,
      atMs: Math.round((performance.now() - start) * 100) / 100,
      ...fields,
    };
    if (listener) {
      try {
        listener(event);
      } catch {
        // a failing listener must not end discovery
      }
    }
    published.publish(event);
  };
}
