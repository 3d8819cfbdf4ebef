// heapUsed once gc frees nothing more (the process runs with --expose-gc): what a
// structure keeps, measured as the difference of two of these around it.

export function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  let before = Infinity;
  for (;;) {
    gc();
    const now = process.memoryUsage().heapUsed;
    if (now >= before - 65536) return now;
    before = now;
  }
}
