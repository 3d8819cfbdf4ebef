// How the agent's V8 heap grows. An agent runs on every node, so its peak memory is
// multiplied by the cluster, while its syncs are rare and mostly wait on nft. V8's
// default lets the heap grow to several times what is alive after each collection
// before collecting again: at 10k Services x 10 a full sync had ~200 MB alive at its
// peak and the process reached 680-820 MiB VmHWM. `--heap-growing-percent=20` lets the
// old generation grow only 20% past what survived the last collection: 305 MiB, at the
// price of more collections (README.md "Memory"). `--optimize-for-size` did as well
// (301 MiB) but also trades JIT speed: endpoint changes took twice as long.
// 10% since session 12: at 44k Services x 1 the first sync's peak is ~90 MB alive plus
// the growth allowed over it, and 20 -> 10 took 10-11 MiB off the first sync's VmHWM
// (README.md "44k Services x 1 endpoint"). V8 grows by at least a few MB whatever
// the percent, so lower figures buy little more.
//
// V8 reads this flag at each collection, so setting it once the process runs takes
// effect (unlike the heap size limits, fixed when the isolate is made; and NODE_OPTIONS
// does not accept it).

import { setFlagsFromString } from 'node:v8';

/** `SVCPLANE_AGENT_HEAP=speed` leaves V8's defaults (for a comparison, or a node with memory to spare). */
export const HEAP_POLICY_ENV = 'SVCPLANE_AGENT_HEAP';

export type HeapPolicy = 'memory' | 'speed';

/** What 'memory' sets. */
export const MEMORY_V8_FLAGS = '--heap-growing-percent=10';

export function heapPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): HeapPolicy {
  return env[HEAP_POLICY_ENV] === 'speed' ? 'speed' : 'memory';
}

/** Applies the policy to this process (process-wide; 'speed' changes nothing). */
export function applyHeapPolicy(policy: HeapPolicy): void {
  if (policy === 'memory') setFlagsFromString(MEMORY_V8_FLAGS);
}
