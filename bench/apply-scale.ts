// The apply measurements at one scale, each in a throw-away network namespace reached
// through `nftRunner(ns)` (nft runs as `ip netns exec NS nft ...`; every apply path
// here pays that same spawn):
//
//   1. `nft -j -f FILE` alone on the rendered document, then `nft -j list table` of each table alone (the
//      namespace holds only our tables: the main one and its shards, both families).
//   2. NftablesSyncer: full sync into an empty namespace; one-endpoint changes
//      (alternately added and removed, each on a different Service) with the Service's
//      key as the change list, sent as the agent sends them (through the long-lived
//      `nft -j -i` session, src/exec/session.ts) and, interleaved in pairs under the same
//      load, one-shot (`nft -j -f -`, a process per transaction); Services added and
//      removed; resyncs with nothing changed (no change list: full read-back + diff).
//   3. The one-shot apply path (what `applyNftables` does for the CLI: render everything,
//      read both tables back, diffTables, one transaction), one endpoint change per round.

import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RenderInput } from '../src/model/render-input.js';
import { nftRunner } from '../src/backends/nftables/apply.js';
import { diffTables, matchLive } from '../src/backends/nftables/diff.js';
import { serializeTables } from '../src/backends/nftables/document.js';
import { transactionText } from '../src/backends/nftables/transaction.js';
import { renderTables, TABLE_NAME } from '../src/backends/nftables/render.js';
import { NftablesSyncer, type NftRunner, type SyncResult } from '../src/backends/nftables/syncer.js';
import { NftSession, type SessionStats } from '../src/exec/session.js';
import { addEndpoint, addService, removeEndpoint, removeService, spread, type Change } from './changes.js';
import { withNetns } from './netns.js';
import { nftFileAlone } from './kernel-load.js';
import { serviceName } from './synthetic.js';
import { timed } from './stats.js';

/** BENCH_NFT_TEXT=off: incremental syncs as JSON only, as before the cacheless text (to compare). */
const CACHELESS = process.env.BENCH_NFT_TEXT !== 'off';

/** One sync or apply: wall time around the call, its parts (ms), what it changed. */
export interface Sample {
  total: number;
  render: number;
  diff: number;
  /** transactionText + `nft -j -f -` of the transaction (0 when nothing was sent). */
  nft: number;
  /** Both tables listed and parsed; full syncs and one-shot applies only. */
  readBack?: number;
  changes: number;
  transactionBytes: number;
}

export interface Rounds {
  /** Endpoints per Service of the input (a Service added gets as many). */
  perService: number;
  /** Limit of `nft -j -f` alone; past it this scale's syncer steps are skipped. */
  loadLimitMs: number;
  endpointRounds: number;
  serviceRounds: number;
  resyncRounds: number;
  oneShotRounds: number;
}

export interface ApplyResult {
  alone: { documentBytes: number; load: number; finished: boolean; /** The read-back command (older results: `list table ip svcplane`). */ listCommand?: string; listJson: number[]; listJsonBytes: number; elementOnly: number[] };
  /** Absent when `nft -j -f` alone did not finish within the limit: the syncer steps were skipped. */
  full?: Sample;
  /** Through the nft session, as the agent sends them. */
  endpoint: (Sample & { kind: 'add' | 'remove' })[];
  /** The same kind of rounds, interleaved with those, sent one-shot (`nft -j -f -`); absent in older results. */
  endpointOneShot?: (Sample & { kind: 'add' | 'remove' })[];
  /** How the session's transactions went (answered, refused, lost → one-shot, too big → one-shot). */
  session?: SessionStats;
  serviceAdd: Sample[];
  serviceRemove: Sample[];
  resync: Sample[];
  oneShot: Sample[];
}

function sample(r: SyncResult, total: number): Sample {
  const t = r.timings;
  return {
    total,
    render: t.render ?? 0,
    diff: t.diff ?? 0,
    nft: t.nft ?? 0,
    ...(t.readBack !== undefined ? { readBack: t.readBack } : {}),
    changes: r.changes,
    transactionBytes: Buffer.byteLength(r.transaction),
  };
}

/**
 * Reading every table of ours back, one `nft -j list table` each, as readLiveTables
 * does (`nft -j list ruleset` took 8x longer at 10k Services over the shard tables).
 */
const LIST_COMMAND = 'nft -j list table (each table of ours in turn)';

async function nftIn(ns: string, args: string[]): Promise<[string, number]> {
  const [r, ms] = await timed(() => execa('ip', ['netns', 'exec', ns, 'nft', ...args], { reject: false, maxBuffer: 1 << 30 }));
  if (r.exitCode !== 0) throw new Error(`nft ${args.join(' ')} in ${ns} failed: ${r.stderr.trim()}`);
  return [r.stdout, ms];
}

/** `nft -j -f FILE` of the whole rendered document (under the time limit), then each of our tables listed, in `ns`. */
async function nftAlone(ns: string, input: RenderInput, listRuns: number, limitMs: number): Promise<ApplyResult['alone']> {
  const doc = serializeTables(renderTables(input));
  const loaded = await nftFileAlone(ns, doc, limitMs);
  if (!loaded.finished) return { documentBytes: Buffer.byteLength(doc), load: loaded.ms, finished: false, listJson: [], listJsonBytes: 0, elementOnly: [] };
  const load = loaded.ms;
  const dir = await mkdtemp(join(tmpdir(), 'svp-bench-'));
  try {
    const path = join(dir, 'ruleset.json');
    const listJson: number[] = [];
    let listJsonBytes = 0;
    const tables = renderTables(input);
    for (let i = 0; i < listRuns; i++) {
      let ms = 0;
      listJsonBytes = 0;
      for (const t of tables) {
        const [out, one] = await nftIn(ns, ['-j', 'list', 'table', t.family, t.name]);
        ms += one;
        listJsonBytes += Buffer.byteLength(out);
      }
      listJson.push(ms);
    }
    // The floor of any transaction on this table: one set element added, then deleted
    // (no chain touched, so nft need not fetch the table's rules).
    const elementOnly: number[] = [];
    for (let i = 0; i < 6; i++) {
      const verb = i % 2 === 0 ? 'add' : 'delete';
      const elem = { [verb]: { element: { family: 'ip', table: TABLE_NAME, name: 'hairpin', elem: [{ concat: ['10.250.0.1', '10.250.0.1'] }] } } };
      await writeFile(path, JSON.stringify({ nftables: [elem] }));
      elementOnly.push((await nftIn(ns, ['-j', '-f', path]))[1]);
    }
    return { documentBytes: Buffer.byteLength(doc), load, finished: true, listCommand: LIST_COMMAND, listJson, listJsonBytes, elementOnly };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * applyNftables' steps, timed one by one, against the namespace. It leaves out what
 * applyNftables does in the bench's own namespace (withLocalAddresses, the sysctls):
 * the input's node is used as given, as the syncer uses it.
 */
async function oneShot(ns: string, input: RenderInput): Promise<Sample> {
  const runner = nftRunner(ns);
  const [parts, total] = await timed(async () => {
    const [desired, render] = await timed(() => renderTables(input));
    const [live, readBack] = await timed(async () => matchLive(desired, await runner.list()));
    const [tx, diff] = await timed(() => diffTables(desired, live));
    const [text, nft] = await timed(async () => {
      if (tx.commands.length === 0) return '';
      const text = transactionText(tx.commands);
      await runner.load(text);
      return text;
    });
    return { render, readBack, diff, nft, changes: tx.changes, transactionBytes: Buffer.byteLength(text) };
  });
  return { total, ...parts };
}

export async function benchApply(
  services: number,
  input: RenderInput,
  rounds: Rounds,
  nsPrefix: string,
  log: (m: string) => void,
): Promise<ApplyResult> {
  log(`nft -j -f alone (limit ${(rounds.loadLimitMs / 1000).toFixed(0)} s), nft -j list alone`);
  const alone = await withNetns(`${nsPrefix}-a`, (ns) => nftAlone(ns, input, 3, rounds.loadLimitMs));
  const skipped = { alone, endpoint: [], serviceAdd: [], serviceRemove: [], resync: [], oneShot: [] };
  if (!alone.finished) return skipped;

  return withNetns(`${nsPrefix}-b`, async (ns) => {
    const base = nftRunner(ns);
    const session = new NftSession({ netns: ns });
    session.warm(); // as the agent's syncer does
    let viaSession = true;
    const runner: NftRunner = { ...base, loadIncremental: async (d) => void (viaSession ? await session.load(d, base.load) : await base.load(d)) };
    try {
      return await syncerRounds(ns, services, input, rounds, alone, new NftablesSyncer(runner, undefined, { cachelessText: CACHELESS }), session, (on) => (viaSession = on), log);
    } finally {
      session.close();
    }
  });
}

async function syncerRounds(
  ns: string,
  services: number,
  input: RenderInput,
  rounds: Rounds,
  alone: ApplyResult['alone'],
  syncer: NftablesSyncer,
  session: NftSession,
  useSession: (on: boolean) => void,
  log: (m: string) => void,
): Promise<ApplyResult> {
  const sync = async (inp: RenderInput, changed?: ReadonlySet<string>) => {
    const [r, total] = await timed(() => syncer.sync(inp, changed));
    return sample(r, total);
  };
  let current = input;
  const step = async (c: Change) => {
    current = c.input;
    return sync(current, new Set([c.key]));
  };

  log('syncer: full sync into the empty namespace');
  const full = await sync(current);

  log(`syncer: ${rounds.endpointRounds} one-endpoint changes through the nft session, ${rounds.endpointRounds} one-shot, in alternate pairs`);
  const endpoint: ApplyResult['endpoint'] = [];
  const endpointOneShot: ApplyResult['endpoint'] = [];
  for (const [k, i] of spread(services, 2 * rounds.endpointRounds).entries()) {
    const kind = k % 2 === 0 ? 'add' : 'remove';
    const viaSession = Math.floor(k / 2) % 2 === 0;
    useSession(viaSession);
    (viaSession ? endpoint : endpointOneShot).push({ kind, ...(await step(kind === 'add' ? addEndpoint(current, i) : removeEndpoint(current, i))) });
  }
  useSession(true);

  log(`syncer: ${rounds.serviceRounds} Services added and removed`);
  const serviceAdd: Sample[] = [];
  const serviceRemove: Sample[] = [];
  for (const [r, i] of spread(services, rounds.serviceRounds).entries()) {
    serviceAdd.push(await step(addService(current, services + r, rounds.perService)));
    serviceRemove.push(await step(removeService(current, i)));
  }

  // The first resync also checks the incremental syncs: after them the kernel must
  // already equal a full render, so it must find nothing to change.
  log(`syncer: ${rounds.resyncRounds} resyncs with nothing changed`);
  const resync: Sample[] = [];
  for (let r = 0; r < rounds.resyncRounds; r++) resync.push(await sync(current));

  log(`one-shot apply path: ${rounds.oneShotRounds} one-endpoint changes`);
  const oneShotSamples: Sample[] = [];
  // Services next to the ones the syncer changed (and still there: the rounds above removed some), a fresh one each round.
  const present = new Set(current.endpointSlices.map((s) => s.serviceName));
  const nextPresent = (x: number) => {
    for (let d = 1; d <= services; d++) if (present.has(serviceName((x + d) % services))) return (x + d) % services;
    throw new Error('no Service left for the one-shot rounds');
  };
  for (const i of spread(services, rounds.oneShotRounds).map(nextPresent)) {
    current = addEndpoint(current, i).input;
    oneShotSamples.push(await oneShot(ns, current));
  }
  return { alone, full, endpoint, endpointOneShot, session: { ...session.stats }, serviceAdd, serviceRemove, resync, oneShot: oneShotSamples };
}
