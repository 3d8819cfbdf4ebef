// Jittered exponential backoff for restarting a list or watch after a failure.
// Jitter spreads the retries of thousands of node agents that lost the same API
// server at the same moment, so they do not come back as one thundering herd.

export interface BackoffOptions {
  /** First delay, before jitter. */
  readonly initialMs: number;
  /** Upper bound on any delay. */
  readonly maxMs: number;
  /** Each failure multiplies the delay by this. */
  readonly factor?: number;
  /** A number in [0, 1); injected so tests are deterministic. */
  readonly random?: () => number;
}

export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions) {}

  /**
   * The delay before the next try. "Equal jitter": half the exponential delay is
   * fixed, half random, so a retry is never immediate and never above the cap.
   */
  next(): number {
    const factor = this.opts.factor ?? 2;
    const exp = Math.min(this.opts.maxMs, this.opts.initialMs * factor ** this.attempt);
    this.attempt++;
    const r = (this.opts.random ?? Math.random)();
    return Math.round(exp / 2 + (exp / 2) * r);
  }

  /** Called after progress (a list or a watch event): the next failure starts small again. */
  reset(): void {
    this.attempt = 0;
  }

  get failures(): number {
    return this.attempt;
  }
}

/** A value in [min, max], e.g. a server-side watch timeout that differs per agent and per watch. */
export function jitterBetween(min: number, max: number, random: () => number = Math.random): number {
  return Math.round(min + (max - min) * random());
}
