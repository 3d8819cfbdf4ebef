// When the agent's process may use V8's compilers beyond its interpreter: TurboFan (the
// optimising one) and Sparkplug (the baseline one). An idle agent (a few Services) peaked
// at ~70 MiB VmHWM, ~5 MiB of which TurboFan: the ~30 functions it optimised while ~400
// modules loaded (node's own path and URL code in the module loader) and during the first
// sync touched ~3.6 MB of the compiler's own code in node's binary (RssFile) and ~1.4 MB
// of compiler memory and optimised code; Sparkplug's baseline code another ~1.3 MiB.
// Nothing an idle agent does needs compiled code: a sync of a few Services takes ms.
//
// So the agent starts with both off and turns them on, once and for good, when it has
// real work: a large plan or many endpoint files given at start (before it parses them),
// a sync of many Services, or over 1.5 s of CPU in its first two minutes (API mode, where
// the Services arrive in the first list). Only the interpreter runs until then.
//
// V8 reads these flags whenever it considers compiling a function, so setting them while
// the process runs takes effect (as heap-policy.ts does for the heap). SVCPLANE_AGENT_JIT=eager
// leaves them on from the start (for a comparison, or to rule this out).

import { readdir, stat } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';

export const JIT_POLICY_ENV = 'SVCPLANE_AGENT_JIT';

/** A plan file this large (bytes) is real work: ~0.5 kB per Service. */
export const LARGE_PLAN_BYTES = 256 * 1024;
/** This many endpoint files (one per Service, as a folder of EndpointSlices usually is) are real work. */
export const MANY_ENDPOINT_FILES = 500;
/** A sync of this many Services is real work. */
export const MANY_SERVICES = 500;
/**
 * CPU time (user + system) after start-up that is real work: the idle agent spends ~0.5 s
 * from here to its first sync (and ~1 s in all), and a few ms per periodic sync. A total,
 * not a rate: on a loaded node the agent gets a small share of a core, and an API server's
 * list of 10k Services still took it ~17 s of wall time at a rate no window would see.
 */
const BUSY_CPU_MS = 1500;
/** Only for this long after start; later, a sync of many Services releases the compilers. */
const BUSY_WATCH_MS = 120_000;
const BUSY_CHECK_MS = 500;

let state: 'off' | 'held' | 'released' = 'off';
let busyTimer: NodeJS.Timeout | undefined;

/** V8's flags while held back, and once released (node's defaults). */
const HELD_FLAGS = ['--no-turbofan', '--no-sparkplug'];
const RELEASED_FLAGS = ['--turbofan', '--sparkplug'];

/** Whether the compilers are held back now (tests, logs). */
export function optimizerHeld(): boolean {
  return state === 'held';
}

/**
 * Turns TurboFan and Sparkplug off for this process until releaseOptimizer (or a CPU
 * burst: see watchForBusyCpu). Call before the agent's modules load. `SVCPLANE_AGENT_JIT=eager`: no-op.
 */
export function holdOptimizer(env: NodeJS.ProcessEnv = process.env): void {
  if (state !== 'off' || env[JIT_POLICY_ENV] === 'eager') return;
  for (const f of HELD_FLAGS) setFlagsFromString(f);
  state = 'held';
}

/** Turns them back on for good (once; nothing when they were never held). Returns whether it did. */
export function releaseOptimizer(): boolean {
  if (state !== 'held') return false;
  for (const f of RELEASED_FLAGS) setFlagsFromString(f);
  state = 'released';
  if (busyTimer) clearInterval(busyTimer);
  busyTimer = undefined;
  return true;
}

/**
 * Releases the compilers once the process spent more than BUSY_CPU_MS of CPU since this call,
 * checked every BUSY_CHECK_MS during the first BUSY_WATCH_MS: large input that no size check
 * saw first (API mode: the Services arrive in the first list).
 */
export function watchForBusyCpu(onRelease: () => void): void {
  if (state !== 'held' || busyTimer) return;
  const cpuMs = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const from = cpuMs();
  const until = Date.now() + BUSY_WATCH_MS;
  busyTimer = setInterval(() => {
    if (cpuMs() - from > BUSY_CPU_MS) {
      if (releaseOptimizer()) onRelease();
    } else if (Date.now() > until) {
      clearInterval(busyTimer);
      busyTimer = undefined;
    }
  }, BUSY_CHECK_MS);
  busyTimer.unref();
}

/**
 * Why the agent's input is large before it is read (a plan file over LARGE_PLAN_BYTES, or
 * endpoint folders holding over MANY_ENDPOINT_FILES files), else undefined. What cannot be
 * read is left to the loaders to report.
 */
export async function largeInputAtStart(planFile: string | undefined, endpointPaths: readonly string[]): Promise<string | undefined> {
  if (planFile) {
    const size = await stat(planFile).then((s) => s.size, () => 0);
    if (size > LARGE_PLAN_BYTES) return `plan of ${size} bytes`;
  }
  let files = 0;
  for (const p of endpointPaths) files += await readdir(p).then((names) => names.length, () => 1);
  return files > MANY_ENDPOINT_FILES ? `${files} endpoint files` : undefined;
}
