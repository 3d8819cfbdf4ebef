// The iptables backend at one scale. Kernel work happens only in throw-away network
// namespaces, through `new IptablesRunner(ns)` (each tool runs as `ip netns exec NS …`,
// so every kernel figure includes that spawn, for ours and for the tool alone alike):
//
//   1. `iptables-restore --noflush -w` alone on the rendered IPv4 and IPv6 sections, into
//      a fresh namespace, under a time limit (on this machine's iptables-nft, loading a
//      large ruleset can take far longer than the rest of the benchmark).
//   2. applyIptables into another fresh namespace (read back, diff, restore, jumps).
//   3. IptablesSyncer on that namespace: one-endpoint changes through the partial sync
//      (diff against what it last wrote) and through a full sync (iptables-save of both
//      tables + diff), alternating; then one full sync with nothing changed, which must
//      find nothing (the partial syncs left the kernel equal to a full render).
//   Kernel steps 2-3 run only when step 1 finished within the limit.
//
// Without the kernel (any scale): how many chains one endpoint change touches, from
// the pure diff of the render before and after (the syncer's partial path minus the
// restore), and that path's in-process time.

import { execa } from 'execa';
import { applyIptables, IptablesRunner } from '../src/backends/iptables/apply.js';
import { serializeIptables } from '../src/backends/iptables/document.js';
import { diffFamily } from '../src/backends/iptables/diff.js';
import { renderIptables, type IptTables, type TableName } from '../src/backends/iptables/render.js';
import { IptablesSyncer } from '../src/backends/iptables/syncer.js';
import type { IPFamily } from '../src/model/ip.js';
import type { RenderInput } from '../src/model/render-input.js';
import { addEndpoint, addService, removeEndpoint, removeService, spread, type Change } from './changes.js';
import { iptablesTool, restoreAlone } from './kernel-load.js';
import { withNetns } from './netns.js';
import { timed } from './stats.js';

/** Counts time spent in the iptables tools, per kind, since the last `take()`. */
class TimedRunner extends IptablesRunner {
  save = 0;
  restoreMs = 0;
  ipsetMs = 0;
  override async savedChains(family: IPFamily, table: TableName): Promise<Map<string, string[]>> {
    const [r, ms] = await timed(() => super.savedChains(family, table));
    this.save += ms;
    return r;
  }
  override async restore(family: IPFamily, text: string, test = false): Promise<void> {
    const [, ms] = await timed(() => super.restore(family, text, test));
    this.restoreMs += ms;
  }
  /** The syncer's restore (streamed). */
  override async restoreTables(family: IPFamily, tables: Parameters<IptablesRunner['restoreTables']>[1]): Promise<void> {
    const [, ms] = await timed(() => super.restoreTables(family, tables));
    this.restoreMs += ms;
  }
  /** A full sync's read-back: the saved chains compared as they are read (no map built). */
  override async compareSaved(...args: Parameters<IptablesRunner['compareSaved']>): ReturnType<IptablesRunner['compareSaved']> {
    const [r, ms] = await timed(() => super.compareSaved(...args));
    this.save += ms;
    return r;
  }
  /** `ipset` calls: the traffic set's entries (added before the rules change, removed after). */
  override async ipset(args: readonly string[], input?: string | Iterable<string>): Promise<string> {
    const [r, ms] = await timed(() => super.ipset(args, input));
    this.ipsetMs += ms;
    return r;
  }
  override async ipsetSave(): Promise<string | undefined> {
    const [r, ms] = await timed(() => super.ipsetSave());
    this.ipsetMs += ms;
    return r;
  }
  take(): { save: number; restore: number; ipset: number } {
    const r = { save: this.save, restore: this.restoreMs, ipset: this.ipsetMs };
    this.save = this.restoreMs = this.ipsetMs = 0;
    return r;
  }
}

export interface IptSample {
  total: number;
  /** The read-back: iptables-save of both tables, both families, compared as read (full syncs only). */
  save: number;
  restore: number;
  /** `ipset save` / `ipset restore` of the traffic sets (absent in results written before it was measured). */
  ipset?: number;
  /** Chains written + chains deleted (+ built-in jumps inserted, full syncs). */
  chains: number;
  transactionBytes: number;
}

export interface IptablesOptions {
  rounds: number;
  /** Services added (and as many removed) through the partial sync. */
  serviceRounds: number;
  /** Endpoints per Service of the input (a Service added gets as many). */
  perService: number;
  /** Limit for `iptables-restore` alone; the kernel steps are skipped past it. */
  loadTimeoutMs: number;
  /** Scales up to this are tried in the kernel at all. */
  maxKernelScale: number;
}

export interface IptablesResult {
  services: number;
  /** The pure partial path of one endpoint change: render + diff against the previous render. */
  pure: { chains: number[]; renderDiff: number[]; transactionBytes: number[] };
  /** iptables-restore alone on both sections; undefined when the scale was not tried. */
  alone?: { ms: number; finished: boolean; bytes: number };
  apply?: IptSample;
  partial: IptSample[];
  full: IptSample[];
  /** One Service added / removed through the partial sync. */
  serviceAdd: IptSample[];
  serviceRemove: IptSample[];
  /** A full sync with nothing changed after all rounds: chains it had to rewrite (must be 0). */
  checkChanges?: number;
  savedNatLines?: number;
}

function chainsTouched(before: readonly IptTables[], after: readonly IptTables[]): { chains: number; bytes: number } {
  let chains = 0;
  let bytes = 0;
  before.forEach((b, i) => {
    const live = { filter: new Map(b.filter.map((c) => [c.name, c.rules])), nat: new Map(b.nat.map((c) => [c.name, c.rules])) };
    const d = diffFamily(after[i]!, live);
    chains += d.changes;
    bytes += Buffer.byteLength(d.text);
  });
  return { chains, bytes };
}

/** The round's change: alternately one endpoint added to and one removed from Service i. */
function change(input: RenderInput, k: number, i: number): Change {
  return k % 2 === 0 ? addEndpoint(input, i) : removeEndpoint(input, i);
}

export async function benchIptables(
  services: number,
  input: RenderInput,
  o: IptablesOptions,
  nsPrefix: string,
  log: (m: string) => void,
): Promise<IptablesResult> {
  const indices = spread(services, o.rounds);

  log(`iptables: ${o.rounds} one-endpoint changes, pure render + diff`);
  const pure: IptablesResult['pure'] = { chains: [], renderDiff: [], transactionBytes: [] };
  let prev = renderIptables(input);
  let cur = input;
  for (const [k, i] of indices.entries()) {
    cur = change(cur, k, i).input;
    const [next, ms] = await timed(() => renderIptables(cur));
    const [t, dms] = await timed(() => chainsTouched(prev, next));
    pure.chains.push(t.chains);
    pure.renderDiff.push(ms + dms);
    pure.transactionBytes.push(t.bytes);
    prev = next;
  }
  prev = [];
  const result: IptablesResult = { services, pure, partial: [], full: [], serviceAdd: [], serviceRemove: [] };
  if (services > o.maxKernelScale) return result;

  const doc = serializeIptables(renderIptables(input));
  log(`iptables: iptables-restore alone (limit ${(o.loadTimeoutMs / 1000).toFixed(0)} s)`);
  const alone = await withNetns(`${nsPrefix}-ipt-a`, (ns) => restoreAlone(ns, doc, o.loadTimeoutMs));
  result.alone = { ...alone, bytes: Buffer.byteLength(doc) };
  if (!alone.finished) return result;

  return withNetns(`${nsPrefix}-ipt-b`, async (ns) => {
    const run = new TimedRunner(ns);
    log('iptables: applyIptables into the empty namespace');
    const [a, total] = await timed(() => applyIptables(input, {}, { run, host: false }));
    result.apply = { total, ...run.take(), chains: a.changes, transactionBytes: Buffer.byteLength(a.transaction) };

    // The syncer's first sync is a full one; start it from the applied state. Every full sync
    // reads back (readBackEvery 1), as these rows have always measured; the cheap resync is
    // measured by the agent (bench/agent-memory.ts).
    const syncer = new IptablesSyncer(run, undefined, undefined, true, { readBackEvery: 1 });
    await syncer.sync(input);
    run.take();
    log(`iptables: ${o.rounds} one-endpoint changes, partial and full sync alternating`);
    let current = input;
    // Partial and full syncs take turns on Services next to each other, so both see the same sizes.
    for (const [k, i] of indices.entries()) {
      for (const full of [false, true]) {
        const c = change(current, k, full ? (i + 1) % services : i);
        current = c.input;
        // The partial sync is told which Service changed (as the agent does) and renders only it.
        const [r, ms] = await timed(() => syncer.sync(current, { full, changed: new Set([c.key]) }));
        if (r.full !== full) throw new Error(`expected a ${full ? 'full' : 'partial'} sync`);
        (full ? result.full : result.partial).push({ total: ms, ...run.take(), chains: r.changes, transactionBytes: Buffer.byteLength(r.transaction) });
      }
    }
    log(`iptables: ${o.serviceRounds} Services added and removed, partial sync`);
    const partial = async (next: Change): Promise<IptSample> => {
      current = next.input;
      const [r, ms] = await timed(() => syncer.sync(current, { changed: new Set([next.key]) }));
      if (r.full) throw new Error('expected a partial sync');
      return { total: ms, ...run.take(), chains: r.changes, transactionBytes: Buffer.byteLength(r.transaction) };
    };
    for (const [k, i] of spread(services, o.serviceRounds).entries()) {
      result.serviceAdd.push(await partial(addService(current, services + k, o.perService)));
      result.serviceRemove.push(await partial(removeService(current, i)));
    }
    log('iptables: full sync with nothing changed');
    result.checkChanges = (await syncer.sync(current, { full: true })).changes;
    const saved = await execa('ip', ['netns', 'exec', ns, iptablesTool('iptables', 'save'), '-t', 'nat'], { maxBuffer: 1 << 30 });
    result.savedNatLines = saved.stdout.split('\n').filter((l) => l.startsWith('-A SVP-')).length;
    return result;
  });
}
