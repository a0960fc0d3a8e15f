/**
 * `verify` for one run (docs/presence.md): a new server is reported only once its advertised URL
 * accepts a connection (or answers HTTP); a watcher checks the servers that passed again at every
 * poll interval, and one that fails goes `down` (`unreachable`). Without `verify` every server
 * counts as passed.
 */
import type { Server } from './server.js';
import { VERIFY_TIMEOUT_MS, type VerifyMode, verifyServer } from './verify.js';

/** What verification may use of its run. */
export interface VerifyHost {
  readonly mode: VerifyMode | undefined;
  /** Server `id` as it stands, or undefined when it left the table. */
  server(id: number): Server | undefined;
  /** Whether a check that ends now still counts (not after a watching run ended). */
  counts(): boolean;
  /** Whether the run is still running (rechecks stop when it is not). */
  running(): boolean;
  /** `id` passed its first check: report it. */
  passed(server: Server): void;
  /** `id` failed its first check: drop it (a later answer brings it back, checked again). */
  failed(id: number): void;
  /** `id` passed before and fails now: it is `down`. */
  unreachable(id: number): void;
  /** Keeps the run's results open until `work` settles. */
  track(work: Promise<void>): void;
  unexpected(doing: string, error: unknown): void;
}

/** The servers that passed, those being checked, and the watcher's rechecks. */
export class Verifying {
  readonly #host: VerifyHost;
  readonly #passed = new Set<number>();
  readonly #checking = new Set<number>();
  #timer: NodeJS.Timeout | undefined;

  constructor(host: VerifyHost) {
    this.#host = host;
  }

  /** Whether server `id` may be reported: it passed, or nothing is verified. */
  shown(id: number): boolean {
    return this.#host.mode === undefined || this.#passed.has(id);
  }

  /** Whether server `id` still waits for a first check to pass. */
  pending(id: number): boolean {
    return !this.shown(id);
  }

  /** How many servers passed. */
  get passedCount(): number {
    return this.#passed.size;
  }

  /** Checks a new server; {@link VerifyHost.passed} or {@link VerifyHost.failed} follows. */
  check(id: number): void {
    const mode = this.#host.mode;
    const server = this.#host.server(id);
    if (!mode || !server || this.#checking.has(id)) return;
    this.#checking.add(id);
    const work = verifyServer(server, mode, VERIFY_TIMEOUT_MS)
      .then((ok) => {
        const now = this.#host.server(id);
        if (!now || !this.#host.counts()) return;
        if (ok) {
          this.#passed.add(id);
          this.#host.passed(now);
        } else this.#host.failed(id);
      })
      .catch((error: unknown) => this.#host.unexpected('checking a server', error))
      .finally(() => this.#checking.delete(id));
    this.#host.track(work);
  }

  /** Watching: checks every server that passed again, every `everyMs`. */
  recheckEvery(everyMs: number): void {
    if (this.#host.mode === undefined) return;
    clearInterval(this.#timer);
    this.#timer = setInterval(() => this.#recheck(), everyMs);
  }

  /** Forgets server `id`; whether it had been reported (so that its `down` is too). */
  forget(id: number): boolean {
    return this.#host.mode === undefined || this.#passed.delete(id);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #recheck(): void {
    const mode = this.#host.mode;
    if (!mode || !this.#host.running()) return;
    for (const id of this.#passed) {
      const server = this.#host.server(id);
      if (!server || this.#checking.has(id)) continue;
      this.#checking.add(id);
      void verifyServer(server, mode, VERIFY_TIMEOUT_MS)
        .then((ok) => {
          if (!ok && this.#host.running()) this.#host.unreachable(id);
        })
        .catch((error: unknown) => this.#host.unexpected('checking servers', error))
        .finally(() => this.#checking.delete(id));
    }
  }
}
