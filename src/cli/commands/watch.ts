import { watch } from '../../client/discover.js';
import { resolveDiscoverSettings } from '../../client/options.js';
import type { Server, WatchEvent } from '../../client/server.js';
import type { Watcher, WatchOptions } from '../../client/watch.js';
import { listInterfaces } from '../../network/interfaces.js';
import { listIPv6Interfaces } from '../../network/interfaces6.js';
import { defined, durationFlag, parseFlags, withFlagNames } from '../args.js';
import { ASK_FLAGS, askOptions, FLAG_OF } from '../ask-flags.js';
import { formatTable } from '../format.js';
import { type CliIo, println, signalExitCode } from '../io.js';
import { checkInterfaceFlags } from '../nothing-found.js';
import { withDocsPath } from '../package-files.js';

export const help = `Usage: beckon watch [options]

Watch servers come and go (docs/presence.md): first a discovery, then beckon servers' announcements
and goodbyes, refresh queries before their leases run out, and polls of original servers keep
the list true. On a terminal: a live table, redrawn in place. Piped, or with --json: one JSON
event per line, {"event":"up"|"update"|"down","reason":...,"at":...,"server":{...}}.
A server is "down" when it says goodbye, when its lease runs out (a crash), when it misses 3
polls (an original server), when the only interface it was seen on goes away, or (--verify
tcp|http, checked again every poll interval) when its URL stops working though it answers.
Runs until Ctrl+C (SIGINT, exit status 130) or SIGTERM (143); 2 on a usage error.

Options: those of "beckon discover" that choose where and how to ask (-p, --target, -i,
--exclude, --no-broadcast, -4, -6, --service, --auth-key, --extended, --encryption,
--secret-key, --no-replay-protection, --replay-window, --message, --prefix, --accept-foreign,
--receive-buffer, --verify, --trace, -q, -v; -t and --retries shape the first discovery;
--scan and --scan-rate scan once, at the start: the servers it finds are then asked like
--target addresses by the refresh queries and polls, and a server that comes up later in a
scanned range is not found until the next watch), and:
  --registry URL            also follow the servers registered in etcd (docs/registry.md;
                            env DISCOVERY_REGISTRY): up and down at once; a server heard both on
                            the LAN and in the registry is down only when both lost it
  -j, --json                one JSON object per event per line (also when piped)
  --announce-port N         UDP port announcements arrive on (default: the port minus 1, 9998)
  --poll-interval DURATION  how often original servers (which never announce) are asked again;
                            seconds, or with a unit (default 5s); one is down after 3 missed polls
  -h, --help                show this help`;

/** `beckon watch`. Resolves with the exit code (only on a signal: it runs until then). */
export async function run(args: string[], io: CliIo): Promise<number> {
  const values = parseFlags(args, {
    ...ASK_FLAGS,
    'poll-interval': { type: 'string' },
  });
  if (values.help) {
    println(io.stdout, withDocsPath(help));
    return 0;
  }
  const options: WatchOptions = {
    ...askOptions(values, io),
    ...defined({
      pollInterval: durationFlag('poll-interval', values['poll-interval']),
    }),
  };
  const flagOf = { ...FLAG_OF, pollInterval: 'poll-interval' };
  const settings = withFlagNames(values, flagOf, () => resolveDiscoverSettings(options));
  if (values.interface) checkInterfaceFlags(settings, listInterfaces(), listIPv6Interfaces());

  const controller = new AbortController();
  const watcher = withFlagNames(values, flagOf, () =>
    watch({ ...options, signal: controller.signal }),
  );
  let interrupted: NodeJS.Signals | undefined;
  const stopped = new Promise<void>((resolve) => {
    const removeSignal = io.onSignal((signal) => {
      interrupted ??= signal;
      removeSignal();
      resolve();
    });
  });
  const live = !values.json && io.stdout.isTTY === true;
  const where = `UDP port ${settings.port}${settings.registry ? ` and ${settings.registry.display}` : ''}`;
  const view = live ? liveTable(io, watcher, where) : jsonLines(io, watcher);
  await stopped;
  view.stop();
  controller.abort();
  await watcher.close();
  return signalExitCode(interrupted ?? 'SIGINT');
}

/** One JSON event per line, as each happens. */
function jsonLines(io: CliIo, watcher: Watcher): { stop(): void } {
  const print = (event: WatchEvent) =>
    println(
      io.stdout,
      JSON.stringify({
        event: event.type,
        ...(event.type === 'down' ? { reason: event.reason } : {}),
        at: new Date().toISOString(),
        server: event.server,
      }),
    );
  const up = (server: Server) => print({ type: 'up', server });
  const update = (server: Server) => print({ type: 'update', server });
  const down = (server: Server, reason: Extract<WatchEvent, { type: 'down' }>['reason']) =>
    print({ type: 'down', server, reason });
  watcher.on('up', up).on('update', update).on('down', down);
  return {
    stop: () => {
      watcher.off('up', up).off('update', update).off('down', down);
    },
  };
}

/** The table, redrawn in place on every event and every second (for "last seen"). */
function liveTable(io: CliIo, watcher: Watcher, where: string): { stop(): void } {
  const recent: string[] = [];
  const draw = () => {
    const now = Date.now();
    const rows = watcher.table.map(({ server, since, lastSeen }) => [
      server.metadata?.service ?? '-',
      server.metadata?.name ?? '-',
      server.url,
      server.interface ?? '-',
      server.via,
      since.toLocaleTimeString(),
      ago(now - lastSeen.getTime()),
    ]);
    const head = `Watching ${where}: ${rows.length} server${rows.length === 1 ? '' : 's'} (Ctrl+C to stop)`;
    const table =
      rows.length > 0
        ? formatTable(['SERVICE', 'NAME', 'URL', 'INTERFACE', 'VIA', 'UP SINCE', 'LAST SEEN'], rows)
        : '(none yet)';
    // Home, clear to the end of the screen, then the view.
    io.stdout.write(`\x1b[H\x1b[J${head}\n\n${table}\n\n${recent.join('\n')}\n`);
  };
  const note = (text: string) => {
    recent.push(`${new Date().toLocaleTimeString()} ${text}`);
    if (recent.length > 5) recent.shift();
    draw();
  };
  const up = (server: Server) => note(`up ${server.url}`);
  const update = (server: Server) => note(`update ${server.url}`);
  const down = (server: Server, reason: string) => note(`down ${server.url} (${reason})`);
  watcher.on('up', up).on('update', update).on('down', down);
  io.stdout.write('\x1b[2J');
  draw();
  const timer = setInterval(draw, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      watcher.off('up', up).off('update', update).off('down', down);
    },
  };
}

function ago(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}
