/**
 * Pacing a subnet scan: one probe per address of a {@link ScanPlan}, at most `rate` a second.
 * Every 10 ms a batch goes out, as many probes as the tokens earned since the last batch allow
 * (a late timer earns at most five batches' worth, 50 ms of the rate), and never more
 * than the rate allows in the last 100 ms, rounded up to a whole probe (below 10 probes a
 * second, one probe per 1/rate seconds). A
 * send that fails for lack of buffer space (ENOBUFS, EAGAIN: the neighbour table is full while
 * an on-link /16 is scanned) halves the rate for a second and is tried again later. Clock and
 * timers are injected.
 */
import { formatIPv4 } from '../network/ipv4.js';
import type { ScanPlan } from './scan-plan.js';

/** Milliseconds between batches. */
export const SCAN_TICK_MS = 10;
/** Milliseconds between progress reports. */
export const SCAN_PROGRESS_MS = 250;
/** Tries of one address whose send keeps failing for lack of buffer space. */
const MAX_TRIES = 5;
/** How long a slow-down for lack of buffer space lasts, in milliseconds. */
const SLOW_DOWN_MS = 1000;
const RETRIABLE = new Set(['ENOBUFS', 'EAGAIN', 'EWOULDBLOCK']);
/** Probes handed to the socket whose send has not completed, at least this many at a time. */
const MIN_IN_FLIGHT = 256;

/** Where a scan stands. */
export interface ScanProgress {
  /** Addresses probed (sent, or given up after errors). */
  readonly probed: number;
  /** Addresses the scan probes in all. */
  readonly total: number;
  /** Sends that failed for good. */
  readonly failed: number;
  /** Milliseconds since the scan started. */
  readonly elapsedMs: number;
  /** Milliseconds still needed at the current rate. */
  readonly leftMs: number;
  /** Probes per second now (lower than asked while slowed down). */
  readonly rate: number;
}

/** What the scanner needs from outside. */
export interface ScannerDeps {
  /** Sends one probe to `ip`; `done` gets the error, if any. */
  send(ip: string, done: (error: NodeJS.ErrnoException | null) => void): void;
  /** A batch is about to go out (a fresh request, say). */
  batch?(): void;
  /** Milliseconds, monotonic. @default performance.now */
  now?(): number;
  /** Runs `fn` after `ms`; returns how to cancel it. @default setTimeout */
  schedule?(fn: () => void, ms: number): () => void;
  /** Every {@link SCAN_PROGRESS_MS} and at the end. */
  progress?(progress: ScanProgress): void;
  /** A send failed for good (not for lack of buffer space). */
  failed?(ip: string, error: NodeJS.ErrnoException): void;
  /** Every address was probed (and every send's outcome is known). */
  done?(progress: ScanProgress): void;
}

/** One scan, started by {@link Scanner.start}, stopped by {@link Scanner.stop} or by its end. */
export class Scanner {
  readonly #plan: ScanPlan;
  readonly #rate: number;
  readonly #deps: ScannerDeps;
  readonly #now: () => number;
  readonly #addresses: Generator<number, void>;
  /** Addresses whose send failed for lack of buffer space: `[ip, tries]`. */
  readonly #retries: [number, number][] = [];
  /** The batches of the current window: `[time, count]`. */
  readonly #window: [number, number][] = [];
  #state: 'idle' | 'running' | 'done' | 'stopped' = 'idle';
  #cancel: () => void = () => {};
  #started = 0;
  #last = 0;
  #tokens = 0;
  #pending = 0;
  #exhausted = false;
  #probed = 0;
  #failed = 0;
  /** Halvings of the rate in force, and until when the latest lasts. */
  #slowdowns = 0;
  #slowUntil = 0;
  #lastSlowdown = Number.NEGATIVE_INFINITY;
  #lastProgress = 0;

  constructor(plan: ScanPlan, rate: number, deps: ScannerDeps) {
    this.#plan = plan;
    this.#rate = rate;
    this.#deps = deps;
    this.#now = deps.now ?? (() => performance.now());
    this.#addresses = plan.addresses();
  }

  /** Starts probing: the first batch goes out now. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#started = this.#now();
    this.#last = this.#started;
    this.#lastProgress = this.#started;
    this.#tokens = Math.min(1, this.#capacity(this.#rate));
    this.#tick();
  }

  /** Stops at once: nothing more is sent. */
  stop(): void {
    if (this.#state === 'running') this.#state = 'stopped';
    this.#cancel();
  }

  /** Where the scan stands. */
  progress(): ScanProgress {
    const rate = this.#currentRate(this.#now());
    const left = this.#plan.total - this.#probed;
    return {
      probed: this.#probed,
      total: this.#plan.total,
      failed: this.#failed,
      elapsedMs: Math.round(this.#now() - this.#started),
      leftMs: Math.ceil((left / rate) * 1000),
      rate,
    };
  }

  /** The rate after slow-downs: halved for each, one halving undone per second. */
  #currentRate(now: number): number {
    while (this.#slowdowns > 0 && now > this.#slowUntil) {
      this.#slowdowns--;
      this.#slowUntil += SLOW_DOWN_MS;
    }
    return Math.max(1, this.#rate / 2 ** this.#slowdowns);
  }

  /** Tokens a late timer may have earned at most: five batches' worth, at least one probe. */
  #capacity(rate: number): number {
    return Math.max(1, (rate * 5 * SCAN_TICK_MS) / 1000);
  }

  #tick(): void {
    if (this.#state !== 'running') return;
    const now = this.#now();
    const rate = this.#currentRate(now);
    this.#tokens = Math.min(
      this.#capacity(rate),
      this.#tokens + ((now - this.#last) * rate) / 1000,
    );
    this.#last = now;
    // The window: 100 ms, or as long as one probe takes below 10 a second.
    const windowMs = Math.max(100, 1000 / rate);
    while (this.#window.length > 0 && (this.#window[0]?.[0] ?? 0) <= now - windowMs) {
      this.#window.shift();
    }
    const inWindow = this.#window.reduce((sum, [, count]) => sum + count, 0);
    // Rounded up: 15 a second may send 2 in some 100 ms, or it could not reach 15 a second.
    const budget = Math.max(1, Math.ceil((rate * windowMs) / 1000 - 1e-9)) - inWindow;
    // Probes the kernel has not taken yet wait in the socket's queue: past a few batches' worth,
    // none are added (an on-link range whose addresses do not answer ARP holds each probe in
    // the kernel for up to 3 s, and the send buffer fills).
    const room = Math.max(MIN_IN_FLIGHT, 2 * this.#capacity(rate)) - this.#pending;
    const count = Math.max(0, Math.min(Math.floor(this.#tokens), budget, room));
    let sent = 0;
    if (count > 0) this.#deps.batch?.();
    // A batch hook may stop the scan (it could not make a request): nothing more goes out.
    while (sent < count && this.#state === 'running') {
      const next = this.#next();
      if (next === undefined) break;
      this.#probe(next[0], next[1]);
      sent++;
    }
    this.#tokens -= sent;
    if (this.#state !== 'running') return;
    // Stamped when the batch's last probe left: a window that holds any of it is measured
    // from there, so that no 100 ms span holds more than the rate allows.
    if (sent > 0) this.#window.push([this.#now(), sent]);
    if (now - this.#lastProgress >= SCAN_PROGRESS_MS) {
      this.#lastProgress = now;
      this.#deps.progress?.(this.progress());
    }
    if (this.#exhausted && this.#retries.length === 0 && this.#pending === 0) {
      this.#finish();
      return;
    }
    this.#cancel = (this.#deps.schedule ?? defaultSchedule)(() => this.#tick(), SCAN_TICK_MS);
  }

  /** The next address and its tries so far: a retry first, else the plan's next. */
  #next(): [number, number] | undefined {
    const retry = this.#retries.shift();
    if (retry) return retry;
    if (this.#exhausted) return undefined;
    const next = this.#addresses.next();
    if (next.done) {
      this.#exhausted = true;
      return undefined;
    }
    return [next.value, 0];
  }

  #probe(ip: number, tries: number): void {
    this.#pending++;
    const address = formatIPv4(ip);
    let called = false;
    const done = (error: NodeJS.ErrnoException | null) => {
      if (called) return;
      called = true;
      this.#pending--;
      if (!error) {
        this.#probed++;
        return;
      }
      if (RETRIABLE.has(error.code ?? '') && tries + 1 < MAX_TRIES) {
        this.#slowDown();
        this.#retries.push([ip, tries + 1]);
        return;
      }
      this.#probed++;
      this.#failed++;
      this.#deps.failed?.(address, error);
    };
    try {
      this.#deps.send(address, done);
    } catch (error) {
      done(error as NodeJS.ErrnoException);
    }
  }

  /** Halves the rate for a while; a burst of failures of one batch counts once. */
  #slowDown(): void {
    const now = this.#now();
    if (now - this.#lastSlowdown < SCAN_TICK_MS * 5) return;
    this.#lastSlowdown = now;
    if (this.#rate / 2 ** (this.#slowdowns + 1) >= 1) this.#slowdowns++;
    this.#slowUntil = now + SLOW_DOWN_MS;
  }

  #finish(): void {
    this.#state = 'done';
    const progress = this.progress();
    this.#deps.progress?.(progress);
    this.#deps.done?.(progress);
  }
}

function defaultSchedule(fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
}
