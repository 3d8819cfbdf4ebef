// Runs inside a throw-away network namespace (`ip netns exec NS node --import tsx
// bench/apply-child.ts MODE INPUT.json`), because the apply code drives `nft` in the
// current namespace. Prints one JSON object of timings (ms) on stdout.
//
// Modes:
//   nft-alone  render the document, then time `nft -j -f FILE` alone, then the read-back alone.
//   apply      full apply into the empty namespace, then one-endpoint changes.
//
// The full apply and the "parts" updates follow applyNftables (src/backends/nftables/apply.ts)
// step by step, calling the same exported functions in the same order, so that each step
// can be timed; the "whole" updates call applyNftables itself.

import { execa } from 'execa';
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import type { EndpointSliceInfo } from '../src/model/endpoints.js';
import type { RenderInput } from '../src/model/render-input.js';
import { applyNftables, NFTABLES_SYSCTLS, nftLoad, readLiveTable } from '../src/backends/nftables/apply.js';
import { diffTable, diffTables, type NftTransaction } from '../src/backends/nftables/diff.js';
import type { NftTable } from '../src/backends/nftables/nft.js';
import { documentText, serializeTables } from '../src/backends/nftables/document.js';
import { renderTables, TABLE_NAME } from '../src/backends/nftables/render.js';
import { withLocalAddresses } from '../src/backends/local-addresses.js';
import { ensureSysctls } from '../src/backends/sysctl.js';
import { ep } from '../test/helpers/model.js';
import { endpointAddress } from './synthetic.js';
import { timed } from './stats.js';

export interface ApplyParts {
  total: number;
  addresses: number;
  render: number;
  readBack: number;
  diff: number;
  serialize: number;
  nft: number;
  changes: number;
  transactionBytes: number;
  /** Set when diffTables itself threw and the bench fell back to diffTable per table. */
  diffError?: string;
}

/**
 * diffTables; if it throws (it spreads every command into one push, which overflows the
 * stack past ~100k commands), the same per-table diffs concatenated, with the error kept
 * for the report: applyNftables itself fails in that case.
 */
function diffOrFallback(desired: NftTable[], live: (NftTable | undefined)[]): NftTransaction & { error?: string } {
  try {
    return diffTables(desired, live);
  } catch (e) {
    const parts = desired.map((t, i) => diffTable(t, live[i]));
    return {
      commands: parts.flatMap((d) => d.commands),
      changes: parts.reduce((n, d) => n + d.changes, 0),
      error: `diffTables threw ${(e as Error).name}: ${(e as Error).message}`,
    };
  }
}

/** applyNftables, one step at a time, each timed. */
async function applyInParts(input: RenderInput): Promise<ApplyParts> {
  const [[parts], total] = await timed(async () => {
    const [node, addresses] = await timed(() => withLocalAddresses(input.node));
    const [desired, render] = await timed(() => renderTables({ ...input, node }));
    const [live, readBack] = await timed(() => Promise.all(desired.map((t) => readLiveTable(t.family, t.name))));
    const [tx, diff] = await timed(() => diffOrFallback(desired, live));
    const [text, serialize] = await timed(() => documentText(tx.commands));
    const [, nft] = await timed(async () => {
      if (tx.commands.length === 0) return;
      await ensureSysctls(NFTABLES_SYSCTLS);
      await nftLoad(text);
    });
    return [{ addresses, render, readBack, diff, serialize, nft, changes: tx.changes, transactionBytes: Buffer.byteLength(text), ...(tx.error ? { diffError: tx.error } : {}) }];
  });
  return { total, ...parts };
}

async function run(file: string, args: string[]): Promise<number> {
  const [r, ms] = await timed(() => execa(file, args, { reject: false }));
  if (r.exitCode !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return ms;
}

/** `nft -j list table ip svcplane` alone, and with our parse, a few times. */
async function readBackAlone(times: number): Promise<{ listJson: number[]; listText: number[]; listJsonBytes: number }> {
  const listJson: number[] = [];
  const listText: number[] = [];
  for (let i = 0; i < times; i++) {
    listJson.push(await run('nft', ['-j', 'list', 'table', 'ip', TABLE_NAME]));
    listText.push(await run('nft', ['list', 'table', 'ip', TABLE_NAME]));
  }
  const r = await execa('nft', ['-j', 'list', 'table', 'ip', TABLE_NAME]);
  return { listJson, listText, listJsonBytes: Buffer.byteLength(r.stdout) };
}

/** The input with Service `index`'s slice grown by one endpoint (the `n`-th added to it). */
function withOneMoreEndpoint(input: RenderInput, index: number, n: number): RenderInput {
  const slices: EndpointSliceInfo[] = [...input.endpointSlices];
  const s = slices[index]!;
  // Position >= 10 takes the next Service's pod addresses: never one this Service already has.
  const extra = ep(endpointAddress(index, s.endpoints.length), n % 2 ? 'node2' : 'node1');
  slices[index] = { ...s, endpoints: [...s.endpoints, extra] };
  return { ...input, endpointSlices: slices };
}

async function nftAlone(input: RenderInput) {
  const node = await withLocalAddresses(input.node);
  const doc = serializeTables(renderTables({ ...input, node }));
  const dir = await mkdtemp(join(tmpdir(), 'svp-bench-'));
  try {
    const path = join(dir, 'ruleset.json');
    await writeFile(path, doc);
    const load = await run('nft', ['-j', '-f', path]);
    return { documentBytes: Buffer.byteLength(doc), load };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function applyRun(input: RenderInput, updates: number, budgetMs: number) {
  const start = performance.now();
  const full = await applyInParts(input);
  const readBack = await readBackAlone(2);
  const services = input.endpointSlices.length;
  const parts: ApplyParts[] = [];
  const whole: { total: number; changes: number }[] = [];
  const noop: { total: number; changes: number }[] = [];
  let current = input;
  let lastRound = 0;
  for (let k = 0; k < updates; k++) {
    // Keep the run bounded: stop early (after at least one round) when another round would not fit.
    if (k > 0 && performance.now() - start + lastRound > budgetMs) break;
    const roundStart = performance.now();
    // Spread the changed Services over the list; each change adds one endpoint.
    const a = Math.floor((services * (2 * k + 1)) / (2 * updates + 1));
    current = withOneMoreEndpoint(current, a, k);
    parts.push(await applyInParts(current));

    if (performance.now() - start > budgetMs) break;
    const b = Math.floor((services * (2 * k + 2)) / (2 * updates + 1));
    current = withOneMoreEndpoint(current, b, k);
    const [r, t] = await timed(() => applyNftables(current));
    whole.push({ total: t, changes: r.changes });

    if (performance.now() - start > budgetMs) break;
    // Nothing changed: what a resync that finds the kernel converged costs.
    const [r2, t2] = await timed(() => applyNftables(current));
    noop.push({ total: t2, changes: r2.changes });
    lastRound = performance.now() - roundStart;
  }
  return { full, readBack, parts, whole, noop };
}

async function main(): Promise<void> {
  const [mode, inputPath, updatesArg, budgetArg] = process.argv.slice(2);
  if (!mode || !inputPath) throw new Error('usage: apply-child.ts nft-alone|apply INPUT.json [UPDATES] [BUDGET_S]');
  const input = JSON.parse(await readFile(inputPath, 'utf8')) as RenderInput;
  const result = mode === 'nft-alone' ? await nftAlone(input) : await applyRun(input, Number(updatesArg ?? 5), Number(budgetArg ?? 300) * 1000);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
