// Last-resort cleanup for the e2e test bed: synchronous functions that run when the test
// process ends in any way we can catch (normal exit, uncaught error, SIGINT/SIGTERM/SIGHUP).
//
// The normal path tears down asynchronously (Topology.destroy, withTopology's finally) and
// unregisters its entry; what is still registered at exit is what a failure left behind.
// Functions here must be synchronous: an 'exit' listener cannot await.

type SyncCleanup = () => void;

const registry = new Map<number, { readonly what: string; readonly fn: SyncCleanup }>();
let nextId = 1;
let hooksInstalled = false;
let running = false;

/** Registers `fn` to run at process exit; returns a function that unregisters it. */
export function registerCleanup(what: string, fn: SyncCleanup): () => void {
  installHooks();
  const id = nextId++;
  registry.set(id, { what, fn });
  return () => {
    registry.delete(id);
  };
}

/** Runs every registered cleanup now (newest first), each at most once. Never throws. */
export function runCleanupsSync(): void {
  if (running) return;
  running = true;
  try {
    const entries = [...registry.entries()].reverse();
    for (const [id, { what, fn }] of entries) {
      registry.delete(id);
      try {
        fn();
      } catch (err) {
        // stderr only: at exit there is no one else to tell.
        process.stderr.write(`e2e cleanup '${what}' failed: ${String(err)}\n`);
      }
    }
  } finally {
    running = false;
  }
}

/** How many cleanups are pending (for tests of the test bed). */
export function pendingCleanups(): number {
  return registry.size;
}

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', runCleanupsSync);
  for (const [signal, code] of Object.entries(SIGNAL_EXIT_CODES)) {
    // A listener replaces the default "terminate" action, so exit ourselves after cleaning up.
    process.on(signal as NodeJS.Signals, () => {
      process.stderr.write(`e2e: ${signal} received, tearing down network namespaces\n`);
      runCleanupsSync();
      process.exit(code);
    });
  }
}
