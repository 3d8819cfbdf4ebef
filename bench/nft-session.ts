// Benchmark: what one small nft transaction costs on a large table, one-shot
// (`nft -j -f -`, a process per transaction) against the long-lived `nft -j -i`
// session (src/exec/session.ts), and what nft fetches from the kernel for each.
// Standalone (root needed, strace optional):
//
//   node --import tsx bench/nft-session.ts [SERVICES=10000] [ROUNDS=20]
//
// Loads S Services × 10 endpoints (bench/synthetic.ts) into a throw-away namespace
// through the syncer, then runs ROUNDS rounds; each sends, in turn, one-element and
// one-endpoint transactions (an add then its undo) one-shot and through the session, so
// every kind sees the same machine load. Then bulk element transactions of growing
// size, to find where the session's one-byte-per-read(2) input costs more than a start-up.
// Prints a markdown section and writes it to bench/results/nft-session.md.

import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nftLoad, nftRunner } from '../src/backends/nftables/apply.js';
import { NftablesSyncer } from '../src/backends/nftables/syncer.js';
import { NftSession } from '../src/exec/session.js';
import { addEndpoint, removeEndpoint } from './changes.js';
import { withNetns } from './netns.js';
import { median, quantile } from './stats.js';
import { syntheticInput } from './synthetic.js';

const OUT = fileURLToPath(new URL('./results/nft-session.md', import.meta.url));
const SERVICES = Number(process.argv[2] ?? 10000);
const ROUNDS = Number(process.argv[3] ?? 20);
const log = (m: string) => process.stderr.write(`[bench nft-session] ${m}\n`);

/** Two documents, the second undoing the first (so rounds can repeat on the same table). */
type Pair = readonly [string, string];

const hairpin = (verb: string, ips: readonly string[]) =>
  `${JSON.stringify({ nftables: [{ [verb]: { element: { family: 'ip', table: 'svcplane', name: 'hairpin', elem: ips.map((ip) => ({ concat: [ip, ip] })) } } }] })}\n`;
const addresses = (n: number) => Array.from({ length: n }, (_, i) => `10.251.${i >> 8}.${i & 255}`);
const elementPair = (n: number): Pair => [hairpin('add', addresses(n)), hairpin('delete', addresses(n))];

/** The syncer's own transactions for one endpoint added to Service i and removed again, captured, not sent. */
async function endpointPair(ns: string, i: number): Promise<Pair> {
  const sent: string[] = [];
  const input = syntheticInput(SERVICES);
  const capture = new NftablesSyncer({ list: nftRunner(ns).list, load: async (d) => void sent.push(d) });
  await capture.sync(input);
  const added = addEndpoint(input, i);
  await capture.sync(added.input, new Set([added.key]));
  const removed = removeEndpoint(added.input, i);
  await capture.sync(removed.input, new Set([removed.key]));
  return [sent.at(-2)!, sent.at(-1)!];
}

/** Bytes nft receives from the kernel (netlink, counted by strace) for one transaction; undefined without strace. */
async function fetchedBytes(ns: string, doc: string): Promise<number | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'svp-bench-'));
  try {
    writeFileSync(join(dir, 'doc.json'), doc);
    const r = await execa('strace', ['-f', '-e', 'trace=recvmsg', '-o', join(dir, 'trace'), 'ip', 'netns', 'exec', ns, 'nft', '-j', '-f', join(dir, 'doc.json')], { reject: false });
    if (r.exitCode !== 0) return undefined;
    return [...readFileSync(join(dir, 'trace'), 'utf8').matchAll(/recvmsg\(.*\) = (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Row {
  readonly kind: string;
  readonly bytes: number;
  readonly oneShot: number[];
  readonly session: number[];
}

async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const load = loadavg()[0]!;
  const md = await withNetns(`svp-bench-${process.pid}-sess`, async (ns) => {
    log(`loading ${SERVICES} Services × 10 endpoints`);
    await new NftablesSyncer(nftRunner(ns)).sync(syntheticInput(SERVICES));
    const session = new NftSession({ netns: ns, maxBytes: Infinity });
    try {
      const kinds: [string, Pair][] = [
        ['one element (hairpin set)', elementPair(1)],
        ['one endpoint (chain rewritten + element)', await endpointPair(ns, Math.floor(SERVICES / 2))],
      ];
      const fetched: (number | undefined)[] = [];
      for (const [, [doc, undo]] of kinds) {
        fetched.push(await fetchedBytes(ns, doc));
        await nftLoad(undo, false, ns);
      }
      const rows: Row[] = kinds.map(([kind, pair]) => ({ kind, bytes: Buffer.byteLength(pair[0]), oneShot: [], session: [] }));
      log(`${ROUNDS} rounds`);
      for (let r = 0; r < ROUNDS; r++) {
        for (const [k, [, pair]] of kinds.entries()) {
          for (const doc of pair) rows[k]!.oneShot.push(await timeIt(() => nftLoad(doc, false, ns)));
          for (const doc of pair) rows[k]!.session.push(await timeIt(() => session.load(doc, (d) => nftLoad(d, false, ns))));
        }
      }
      log('bulk element transactions');
      for (const n of [100, 400, 800, 1600]) {
        const pair = elementPair(n);
        const row: Row = { kind: `${n} elements`, bytes: Buffer.byteLength(pair[0]), oneShot: [], session: [] };
        for (let r = 0; r < Math.max(3, ROUNDS / 4); r++) {
          for (const doc of pair) row.oneShot.push(await timeIt(() => nftLoad(doc, false, ns)));
          for (const doc of pair) row.session.push(await timeIt(() => session.load(doc, (d) => nftLoad(d, false, ns))));
        }
        rows.push(row);
      }
      const s = session.stats;
      if (s.lost || s.refused) throw new Error(`session: ${s.lost} lost, ${s.refused} refused: the comparison is void`);
      return report(rows, fetched, load, s.started);
    } finally {
      session.close();
    }
  });
  mkdirSync(fileURLToPath(new URL('./results/', import.meta.url)), { recursive: true });
  writeFileSync(OUT, md);
  process.stdout.write(md);
}

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function report(rows: readonly Row[], fetched: readonly (number | undefined)[], load: number, started: number): string {
  const L = [`## nft one-shot against the nft -j -i session, ${SERVICES} Services × 10 endpoints`, ''];
  L.push(`\`node --import tsx bench/nft-session.ts ${SERVICES} ${ROUNDS}\`, ${new Date().toISOString().slice(0, 10)}, load average ${load.toFixed(1)} at start, ${started} session process(es).`);
  L.push('Each row alternates one-shot and session, a transaction and its undo; ms, wall time from the call to the answer.', '');
  L.push('| transaction | bytes | n | one-shot p50 / p99 | session p50 / p99 | session / one-shot (p50) |');
  L.push('|---|---|---|---|---|---|');
  for (const r of rows) {
    L.push(`| ${r.kind} | ${r.bytes} | ${r.oneShot.length} | ${ms(median(r.oneShot))} / ${ms(quantile(r.oneShot, 0.99))} | ${ms(median(r.session))} / ${ms(quantile(r.session, 0.99))} | ${(median(r.session) / median(r.oneShot)).toFixed(2)} |`);
  }
  L.push('');
  if (fetched.every((x) => x !== undefined)) {
    L.push(`Bytes nft received from the kernel (netlink, counted by strace) to send each, one-shot: ${rows.slice(0, fetched.length).map((r, i) => `${r.kind} ${fetched[i]}`).join(', ')}: its cache of every table, chain and set, whatever the transaction touches.`, '');
  }
  return `${L.join('\n')}\n`;
}

await main();
