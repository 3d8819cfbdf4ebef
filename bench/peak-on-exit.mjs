// `node --import ./bench/peak-on-exit.mjs CLI ...`: when the process exits, appends its
// peak RSS (VmHWM, KiB) to the file named by BENCH_PEAK_FILE. Lets bench/cli.ts read a
// child's peak memory without a tool outside node (Node does not expose a child's rusage).
import { appendFileSync, readFileSync } from 'node:fs';

const file = process.env.BENCH_PEAK_FILE;
if (file) {
  process.on('exit', () => {
    const hwm = /^VmHWM:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    appendFileSync(file, `${hwm ?? 'NaN'}\n`);
  });
}
