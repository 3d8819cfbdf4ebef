// Stat'ing every file of a folder walk (walk.ts, the agent's fingerprint):
// synchronously, a batch at a time.

import { statSync, type Stats } from 'node:fs';

/**
 * Files stat'ed in one synchronous stretch, then the event loop is let go (setImmediate).
 * Synchronous stats: an async stat's promise, request and Stats of each file lived
 * until its batch of the walk was done, long enough at 44k files to be promoted out of
 * the 1 MB young generation: tens of MB of old-generation garbage a walk, on which the
 * agent's peak through endpoint changes sat. Done at once, they die young; no request
 * waits in libuv's pool either, so a reload's reads never queue behind a poll. A batch
 * of local stats takes well under a millisecond.
 */
export const STAT_BATCH = 64;

/** The path's stats through symlinks; undefined when it is missing (or cannot be stat'ed). */
export function statNow(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** Lets the event loop go between two batches. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
