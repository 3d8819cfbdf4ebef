// Who owns what a test starts. Every long-running process the e2e helpers spawn
// (spawnInNetns: servers, probes, agents, fake API servers) and every loop that keeps the
// event loop busy (continuousTraffic) is registered here until it ends, so nothing a test
// started can outlive it and keep the test file's process alive:
//
// - an owner (a node:test TestContext `t`, or `suiteOwner()` for a describe) stops what it
//   owns in its own after hook, registered at spawn: also when the test failed;
// - whatever is still registered when the file's tests are done is stopped by a root-level
//   `after` hook (a failed test whose cleanup never ran, a loop nobody stopped), so the file
//   ends and `node --test` moves on;
// - at process exit or on a signal, the rest is SIGKILLed synchronously (cleanup.ts).
//
// Why: a probe left running in an already deleted namespace after a failed agent test kept
// a test file alive for 11 minutes (issue 15 §6).

import { after } from 'node:test';
import { registerCleanup } from './cleanup.js';

/** Something that can end what it owns: `t` in a test, `suiteOwner()` in a describe. */
export interface Owner {
  after(fn: () => Promise<void> | void): void;
}

/** One registered thing: how to stop it politely, and how to kill it at process exit. */
export interface Owned {
  readonly what: string;
  /** Stops it and resolves when it is gone (bounded: SIGKILL after a grace period). */
  stop(): Promise<void>;
  /** Synchronous last resort (process exit): SIGKILL, clear timers. */
  killSync(): void;
}

const owned = new Set<Owned>();
let exitHookInstalled = false;

/**
 * Registers `entry` until the returned release function is called (call it when the thing
 * ended by itself or was stopped). With an `owner`, the owner's after hook stops it.
 */
export function own(entry: Owned, owner?: Owner): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    registerCleanup('owned processes', killAllSync);
  }
  owned.add(entry);
  owner?.after(async () => {
    if (owned.has(entry)) await entry.stop();
  });
  return () => {
    owned.delete(entry);
  };
}

/** What is registered now (for the self-test and error messages). */
export function ownedNow(): string[] {
  return [...owned].map((o) => o.what);
}

/** Stops everything still registered; resolves with what that was (empty when nothing was left). */
export async function stopLeftovers(): Promise<string[]> {
  const left = [...owned];
  await Promise.all(
    left.map(async (o) => {
      try {
        await o.stop();
      } catch (err) {
        process.stderr.write(`e2e: stopping leftover '${o.what}' failed: ${String(err)}\n`);
      } finally {
        owned.delete(o);
      }
    }),
  );
  return left.map((o) => o.what);
}

function killAllSync(): void {
  for (const o of owned) {
    try {
      o.killSync();
    } catch {
      // gone already
    }
  }
  owned.clear();
}

/**
 * An owner for a describe block: call it in the describe's body; what it is given is
 * stopped by the describe's own after hook (newest first), after the tests that used it.
 */
export function suiteOwner(): Owner {
  const fns: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return { after: (fn) => void fns.push(fn) };
}

/**
 * True in a process the node:test runner started for a test file (`node --test` sets
 * NODE_TEST_CONTEXT in it). spawnInNetns removes the variable from its children, so a
 * fixture importing this module in a child process does not become a test harness.
 */
export const UNDER_TEST_RUNNER = process.env.NODE_TEST_CONTEXT !== undefined;

// Registered when this module loads, i.e. on the file's root test: it runs once every test
// and suite of the file has ended, failed or not.
if (UNDER_TEST_RUNNER) {
  after(async () => {
    const left = await stopLeftovers();
    if (left.length > 0) process.stderr.write(`e2e: stopped ${left.length} process(es) or loop(s) left running by the tests: ${left.join(', ')}\n`);
  });
}
