// Churn: S Services × E endpoints with every endpoint replaced every `intervalMs`, for
// `cycles` cycles, through each backend's syncer in a throw-away namespace. Each cycle
// is due at start + k × interval; it hands the syncer the new input and every Service's
// key (all of them changed) and times the sync (event to kernel). A sync longer than
// the interval makes the next cycle start late: that lateness is recorded, not hidden.
// iptables first loads with `iptables-restore` alone under the time limit; past it the
// cycles are not run (as at the other large iptables scales).

import { IptablesRunner } from '../src/backends/iptables/apply.js';
import { serializeIptables } from '../src/backends/iptables/document.js';
import { renderIptables } from '../src/backends/iptables/render.js';
import { IptablesSyncer } from '../src/backends/iptables/syncer.js';
import { nftRunner } from '../src/backends/nftables/apply.js';
import { NftablesSyncer } from '../src/backends/nftables/syncer.js';
import type { EndpointSliceInfo } from '../src/model/endpoints.js';
import { serviceKey } from '../src/model/plan.js';
import type { RenderInput } from '../src/model/render-input.js';
import { restoreAlone, type LoadResult } from './kernel-load.js';
import { withNetns } from './netns.js';
import type { Scenario } from './scenarios.js';
import { timed } from './stats.js';
import { endpointAddress, serviceName, syntheticInput } from './synthetic.js';

/** Shift of every pod address per cycle: more than E, so each Service's set is replaced whole. */
const CYCLE_SHIFT = 7919;

export interface ChurnCycle {
  /** ms after its due time that the cycle's sync began (the previous one overran). */
  late: number;
  /** The sync, ms (event to kernel). */
  sync: number;
  changes: number;
  transactionBytes: number;
}

export interface ChurnResult {
  backend: 'nftables' | 'iptables';
  services: number;
  endpointsPerService: number;
  intervalMs: number;
  /** Cycles the scenario asks for; `cycles` holds those that started within `limitMs`. */
  planned: number;
  limitMs: number;
  /** The first (full) load: the syncer's full sync (nftables) or `iptables-restore` alone (iptables). */
  initial: LoadResult;
  cycles: ChurnCycle[];
}

/** The input of cycle c: every Service's endpoints moved to other pod addresses. */
export function churnInput(services: number, perService: number, cycle: number): RenderInput {
  const base = syntheticInput(services, new Map(), perService);
  const slices: EndpointSliceInfo[] = base.endpointSlices.map((s, i) => ({
    ...s,
    endpoints: s.endpoints.map((e, j) => ({ ...e, address: endpointAddress(i, j + cycle * CYCLE_SHIFT, perService) })),
  }));
  return { ...base, endpointSlices: slices };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function cycles(
  sc: Scenario,
  limitMs: number,
  sync: (input: RenderInput, keys: ReadonlySet<string>) => Promise<{ changes: number; transaction: string }>,
  log: (m: string) => void,
): Promise<ChurnCycle[]> {
  const { intervalMs, cycles: n } = sc.churn!;
  const keys = new Set(Array.from({ length: sc.services }, (_, i) => serviceKey({ namespace: 'default', name: serviceName(i) })));
  const out: ChurnCycle[] = [];
  const start = performance.now();
  for (let c = 1; c <= n; c++) {
    // Past the time limit no new cycle starts: the report says how many ran.
    if (performance.now() - start > limitMs) break;
    const input = churnInput(sc.services, sc.endpointsPerService, c);
    const due = start + c * intervalMs;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const late = Math.max(0, performance.now() - due);
    const [r, ms] = await timed(() => sync(input, keys));
    out.push({ late, sync: ms, changes: r.changes, transactionBytes: Buffer.byteLength(r.transaction) });
    log(`churn: cycle ${c}/${n} sync ${ms.toFixed(0)} ms (late ${late.toFixed(0)} ms)`);
  }
  return out;
}

export interface ChurnOptions {
  /** iptables: limit of the initial `iptables-restore` alone. */
  loadLimitMs: number;
  /** No cycle starts after this long from the first one's due time. */
  limitMs: number;
}

export async function benchChurn(backend: 'nftables' | 'iptables', sc: Scenario, o: ChurnOptions, prefix: string, log: (m: string) => void): Promise<ChurnResult> {
  const base = { backend, services: sc.services, endpointsPerService: sc.endpointsPerService, intervalMs: sc.churn!.intervalMs, planned: sc.churn!.cycles, limitMs: o.limitMs };
  return withNetns(`${prefix}-churn-${backend.slice(0, 3)}`, async (ns) => {
    const first = churnInput(sc.services, sc.endpointsPerService, 0);
    if (backend === 'nftables') {
      const syncer = new NftablesSyncer(nftRunner(ns));
      const [, ms] = await timed(() => syncer.sync(first));
      log(`churn nftables: full load ${ms.toFixed(0)} ms`);
      return { ...base, initial: { ms, finished: true }, cycles: await cycles(sc, o.limitMs, (i, k) => syncer.sync(i, k), log) };
    }
    log(`churn iptables: iptables-restore alone (limit ${(o.loadLimitMs / 1000).toFixed(0)} s)`);
    const initial = await restoreAlone(ns, serializeIptables(renderIptables(first)), o.loadLimitMs);
    if (!initial.finished) return { ...base, initial, cycles: [] };
    const syncer = new IptablesSyncer(new IptablesRunner(ns));
    // Its first sync is a full one (save + diff: nothing to write, jumps inserted).
    await syncer.sync(first);
    return { ...base, initial, cycles: await cycles(sc, o.limitMs, (i) => syncer.sync(i), log) };
  });
}
