/**
 * Runs a subnet scan in a scan-lab host (test/lab/scan.ts) and measures it: the library through
 * test/lab/drivers/scan.ts, or `beckon discover --json`, while the router counts the probes on
 * the wire.
 */
import assert from 'node:assert/strict';
import type { Server } from '../../src/index.js';
import type { RunResult } from '../helpers/process.js';
import type { LabHost } from './lab.js';
import { type ProbeRate, sampleProbeRate } from './scan.js';

/** A server as the scan driver reports it, and when it was found. */
export interface Found {
  readonly ip: string;
  readonly port: number | null;
  readonly via: string;
  /** Whether the result carries the server's instance id (an extended answer). */
  readonly named: boolean;
  /** Milliseconds from the start of the run. */
  readonly at: number;
}

/** What one scan run gave. */
export interface ScanRun {
  readonly found: Found[];
  /** The scan's trace events (`scan-start`, `scan-done`, `scan-skipped`). */
  readonly trace: { type: string; [key: string]: unknown }[];
  /** Milliseconds from the start of the run to its end. */
  readonly ms: number;
  /** The probe rate on the wire while it ran. */
  readonly rate: ProbeRate;
  readonly stderr: string;
}

/** Runs `discoverStream(options)` in `client` and samples the probe rate at `counter`. */
export async function runScan(
  client: LabHost,
  /** Where the probes are counted: the router (what crossed it) or the client (what left it). */
  counter: LabHost,
  options: object,
  timeoutMs = 100_000,
): Promise<ScanRun> {
  const running = client.script('test/lab/drivers/scan.ts', [JSON.stringify(options)], {
    timeoutMs,
  });
  const rate = await sampleProbeRate(counter, running);
  const run = await running;
  assert.equal(run.status, 0, `scan driver failed:\n${run.stdout}${run.stderr}`);
  const found: Found[] = [];
  const trace: ScanRun['trace'] = [];
  let ms = Number.NaN;
  for (const text of run.stdout.split('\n').filter(Boolean)) {
    const line = JSON.parse(text) as {
      server?: Omit<Found, 'at'>;
      at?: number;
      trace?: ScanRun['trace'][number];
      end?: number;
    };
    if (line.server) found.push({ ...line.server, at: line.at ?? Number.NaN });
    if (line.trace) trace.push(line.trace);
    if (line.end !== undefined) ms = line.end;
  }
  return { found, trace, ms, rate, stderr: run.stderr };
}

/** What one `beckon discover --json ...` run gave. */
export interface CliScanRun {
  readonly status: number | null;
  readonly servers: Server[];
  readonly ms: number;
  readonly rate: ProbeRate;
  readonly run: RunResult;
}

/** Runs `beckon discover --json ...args` in `client` and samples the probe rate at `counter`. */
export async function runScanCli(
  client: LabHost,
  /** Where the probes are counted: the router (what crossed it) or the client (what left it). */
  counter: LabHost,
  args: string[],
  timeoutMs = 100_000,
): Promise<CliScanRun> {
  const started = performance.now();
  const running = client.beckonRun(['discover', '--json', ...args], { timeoutMs });
  const rate = await sampleProbeRate(counter, running);
  const run = await running;
  const ms = Math.round(performance.now() - started);
  const servers = run.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Server);
  return { status: run.status, servers, ms, rate, run };
}

/** Rates rounded for a diagnostic line. */
export function describeRate(rate: ProbeRate): string {
  const windows = rate.windows.map((r) => Math.round(r));
  return `${Math.round(rate.mean)}/s mean over ${rate.total} probes; windows ${windows.join(' ')}`;
}
