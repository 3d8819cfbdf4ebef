// A long-lived `nft -j -i` process for small transactions (an incremental sync's few
// elements and chains): one nft start-up (process, `ip netns exec`, libraries) saved
// per transaction. What it does not save: nft fetches its cache (every table, chain,
// set: ~0.95 MB at 10k Services) for every command in -i mode as in -f mode, since
// our own commit changes the ruleset's generation (measured: src/backends/nftables/README.md).
// Hence the syncer's cacheless text (text-transaction.ts): a line that is not JSON is parsed
// as nft text, and written so, most endpoint changes need no chain cache at all.
//
// Framing. `nft -i` reads one line per command, prints nothing on success and its
// errors on stderr, and answers no other way. So after each transaction (one line of
// JSON) we send a marker line that is a syntax error carrying a token of our own:
// nft echoes the offending line on stderr after the transaction's own errors, if any.
// Everything on stderr before the marker's error is the transaction's output: empty
// means committed; anything else means nft refused it, and a refused nft batch
// changes nothing (one line is one batch, as with `nft -j -f`); `load` then lets
// one-shot judge it, so a failure is always one-shot's. The marker costs no
// kernel round trip (the parser rejects it first).
//
// A process that dies, stops answering within `timeoutMs`, or answers out of shape
// is killed and forgotten; that transaction's outcome is `lost` and the caller sends
// it the one-shot way (`load` does); the next transaction starts a new process.

import { randomBytes } from 'node:crypto';
import type { Command } from './exec.js';
import { spawnSystemSession, type SessionProcess, type SpawnSession } from './session-process.js';

export type SessionOutcome =
  | { readonly kind: 'ok' }
  /** nft refused the transaction: nothing changed. */
  | { readonly kind: 'failed'; readonly stderr: string }
  /** No answer we can trust (died, hung, garbled): the transaction may or may not have been applied. */
  | { readonly kind: 'lost'; readonly why: string };

export interface NftSessionOptions {
  readonly netns?: string;
  readonly spawn?: SpawnSession;
  /** A transaction unanswered this long means a hung session (default 10 s). */
  readonly timeoutMs?: number;
  /**
   * Transactions per process before it is replaced: nft -i keeps every line it read in
   * its editline history, in memory, for as long as it runs (default 200).
   */
  readonly maxTransactions?: number;
  /**
   * Larger transactions go the one-shot way (default 24 KiB): nft -i reads its input
   * one byte per read(2) (editline on a pipe); at 10k Services the session was 0.5-0.7×
   * one-shot up to 17 KB and 1.0-1.3× from 34 KB on (bench/nft-session.ts).
   */
  readonly maxBytes?: number;
  /** Told when a session is lost (its transaction then goes one-shot): for a warning in the log. */
  readonly onLost?: (why: string) => void;
}

export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
export const DEFAULT_SESSION_MAX_TRANSACTIONS = 200;
export const DEFAULT_SESSION_MAX_BYTES = 24 * 1024;

/** The command a session runs, as errors name it. */
const SESSION_ARGS = ['-j', '-i'] as const;

interface Pending {
  readonly marker: string;
  readonly resolve: (o: SessionOutcome) => void;
  readonly timer: NodeJS.Timeout;
}

/** How a session did: how many transactions went each way (for benchmarks and logs). */
export interface SessionStats {
  /** Transactions answered by a session (ok or refused). */
  answered: number;
  refused: number;
  /** Transactions whose session was lost (they went one-shot). */
  lost: number;
  /** Transactions sent one-shot because of their size. */
  tooBig: number;
  /** Refusals one-shot then accepted (the session is closed after the first). */
  disagreed: number;
  /** Processes started. */
  started: number;
}

export class NftSession {
  readonly stats: SessionStats = { answered: 0, refused: 0, lost: 0, tooBig: 0, disagreed: 0, started: 0 };
  private readonly spawn: SpawnSession;
  private readonly timeoutMs: number;
  private readonly maxTransactions: number;
  readonly maxBytes: number;
  private proc: SessionProcess | undefined;
  private transactionsOnProc = 0;
  private stderr = '';
  private pending: Pending | undefined;
  /** Transactions run one after the other: one process, one line at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Unique per session object, so no transaction text can contain a marker by chance. */
  private readonly token = randomBytes(6).toString('hex');
  private seq = 0;
  private closed = false;

  constructor(private readonly options: NftSessionOptions = {}) {
    this.spawn = options.spawn ?? spawnSystemSession;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.maxTransactions = options.maxTransactions ?? DEFAULT_SESSION_MAX_TRANSACTIONS;
    this.maxBytes = options.maxBytes ?? DEFAULT_SESSION_MAX_BYTES;
  }

  /** The running process's id, if one runs. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The command line of the session process, as an ExecError names it. */
  command(): Command {
    return { file: 'nft', args: SESSION_ARGS, ...(this.options.netns ? { netns: this.options.netns } : {}) };
  }

  /**
   * Sends one transaction (an `nft -j -f` document) through the session and says what
   * became of it. Never throws.
   */
  run(document: string): Promise<SessionOutcome> {
    const next = this.queue.then(() => this.runNow(document));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Applies `document` as one transaction, as `oneShot` (`nft -j -f -`) would: through the
   * session when it is small, else, or when the session is lost, through `oneShot`.
   * Whatever fails, fails with one-shot's own error: a transaction the session refused is
   * sent one-shot too (a refused batch changed nothing, so that is safe), and one-shot's
   * verdict is the caller's. If one-shot takes what the session refused, the session is
   * not to be trusted (an nft whose -i mode reads no JSON would refuse every transaction,
   * and the syncer would fall back to a full sync for every change): closed for good.
   */
  async load(document: string, oneShot: (document: string) => Promise<void>): Promise<'session' | 'one-shot'> {
    if (this.closed || Buffer.byteLength(document) > this.maxBytes) {
      if (!this.closed) this.stats.tooBig++;
      await oneShot(document);
      return 'one-shot';
    }
    const outcome = await this.run(document);
    if (outcome.kind === 'ok') return 'session';
    await oneShot(document);
    if (outcome.kind === 'failed') {
      this.stats.disagreed++;
      this.close();
      this.options.onLost?.(`nft -j -i refused what nft -j -f accepted (${outcome.stderr}); one-shot from now on`);
    }
    return 'one-shot';
  }

  /**
   * Starts the process now, if none runs, so the next transaction does not wait for it
   * (a transaction itself would start one). Failing to start is left for that transaction
   * to find.
   */
  warm(): void {
    this.queue = this.queue.then(() => (this.proc || this.closed ? undefined : this.start())).catch(() => undefined);
  }

  /** Kills the process; later transactions go one-shot. */
  close(): void {
    this.closed = true;
    this.drop('session closed');
  }

  private async runNow(document: string): Promise<SessionOutcome> {
    if (this.closed) return { kind: 'lost', why: 'session closed' };
    if (!this.proc) {
      try {
        await this.start();
      } catch (e) {
        this.stats.lost++;
        return { kind: 'lost', why: `could not start: ${e instanceof Error ? e.message : String(e)}` };
      }
    }
    const proc: SessionProcess | undefined = this.proc;
    if (!proc) {
      this.stats.lost++;
      return { kind: 'lost', why: 'nft exited as it started' };
    }
    const marker = `svcplane-session-${this.token}-${++this.seq}`;
    this.transactionsOnProc++;
    this.stderr = '';
    const outcome = await new Promise<SessionOutcome>((resolve) => {
      // Kept referenced: whoever awaits this answer keeps the process alive until it comes.
      const timer = setTimeout(() => this.settle({ kind: 'lost', why: `no answer within ${this.timeoutMs} ms` }), this.timeoutMs);
      this.pending = { marker, resolve, timer };
      // A JSON document's raw newlines are whitespace between tokens (in strings they are escaped): one line.
      if (!proc.write(`${document.replace(/\n/g, '')}\n${marker}\n`)) this.settle({ kind: 'lost', why: 'stdin closed' });
      else this.scan();
    });
    if (outcome.kind === 'lost') {
      this.stats.lost++;
      this.drop(outcome.why);
      this.options.onLost?.(outcome.why);
    } else {
      this.stats.answered++;
      if (outcome.kind === 'failed') this.stats.refused++;
    }
    // Replaced now rather than when the next transaction comes, which then need not wait.
    if (this.proc && this.transactionsOnProc >= this.maxTransactions) {
      this.drop('recycled');
      this.warm();
    }
    return outcome;
  }

  private async start(): Promise<void> {
    const proc = await this.spawn(this.command());
    this.proc = proc;
    this.transactionsOnProc = 0;
    this.stats.started++;
    proc.onStderr((chunk) => {
      if (this.proc !== proc) return;
      this.stderr += chunk;
      this.scan();
    });
    proc.onExit((why) => {
      if (this.proc !== proc) return;
      this.proc = undefined;
      this.settle({ kind: 'lost', why: `nft ${why}` });
    });
  }

  /** Looks for the pending marker's echo (and the caret line after it) in what stderr said so far. */
  private scan(): void {
    const p = this.pending;
    if (!p) return;
    const at = this.stderr.indexOf(`\n${p.marker}\n`);
    if (at < 0) return;
    const caretEnd = this.stderr.indexOf('\n', at + p.marker.length + 2);
    if (caretEnd < 0) return;
    // The line before the echo is the marker's own error; what comes before it is the transaction's.
    const before = this.stderr.slice(0, at);
    const cut = before.lastIndexOf('\n');
    const markerError = before.slice(cut + 1);
    if (!/error/i.test(markerError)) return this.settle({ kind: 'lost', why: `unexpected answer: ${JSON.stringify(this.stderr.slice(0, 200))}` });
    const own = cut < 0 ? '' : before.slice(0, cut).trim();
    this.stderr = this.stderr.slice(caretEnd + 1);
    this.settle(own ? { kind: 'failed', stderr: own } : { kind: 'ok' });
  }

  private settle(outcome: SessionOutcome): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    p.resolve(outcome);
  }

  private drop(why: string): void {
    const proc = this.proc;
    this.proc = undefined;
    proc?.kill();
    this.settle({ kind: 'lost', why });
  }
}
