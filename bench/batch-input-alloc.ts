// `node --expose-gc --max-semi-space-size=512 --import tsx bench/batch-input-alloc.ts [SERVICES] [SRC]`:
// what one batch of a burst of endpoint changes allocates before the syncer runs at SERVICES x 1
// (44000): the batch's input (src/agent/sync-batches.ts, withHeldBack, 300 Services held) and
// the syncers' map of their Services for it (src/backends/owned-services.ts, rebuilt when the
// Service list is a new array). The young generation is made large enough that nothing is
// collected during the step, so the heap's growth is what it allocated. SRC: another tree's
// src/ (a `git archive` copy of a base) for an A/B.
import { resolve } from 'node:path';
import { syntheticInput } from './synthetic.js';

const services = Number(process.argv[2] ?? 44000);
const src = resolve(process.argv[3] ?? new URL('../src', import.meta.url).pathname);
const { withHeldBack } = (await import(`${src}/agent/sync-batches.ts`)) as typeof import('../src/agent/sync-batches.js');
const { ownedServices } = (await import(`${src}/backends/owned-services.ts`)) as typeof import('../src/backends/owned-services.js');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

const applied = syntheticInput(services, new Map(), 1);
// The next input: the same Service objects, some slices replaced (an endpoint burst).
const next = { ...applied, endpointSlices: applied.endpointSlices.map((s, i) => (i % 146 === 0 ? { ...s } : s)) };
const held = new Set<string>();
for (let i = 0; i < services && held.size < 300; i += 97) held.add(`${applied.plan.services[i]!.namespace}/${applied.plan.services[i]!.name}`);
ownedServices(applied);
ownedServices(next);
for (let round = 0; round < 3; round++) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const input = withHeldBack(next, applied, held);
  ownedServices(input);
  const after = process.memoryUsage().heapUsed;
  process.stdout.write(`${src}: one batch's input at ${services} x 1, ${held.size} held: ${((after - before) / 1e6).toFixed(1)} MB allocated; Service list kept: ${input.plan === next.plan}\n`);
}
