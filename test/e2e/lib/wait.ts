// Waiting in e2e tests: a plain sleep, and polling a condition with a deadline.

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` every `everyMs` until it holds; returns how long that took, or throws naming `what`. */
export async function until(what: string, f: () => Promise<boolean> | boolean, timeoutMs = 8000, everyMs = 100): Promise<number> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    if (await f()) return performance.now() - start;
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}
