// `npm run bench`: render and apply time of the nftables backend at synthetic scales,
// written to BENCHMARKS.md. Never part of `npm test`; needs root (ip netns, nft).
//
// Env: BENCH_SCALES=1000,10000   Services per run (10 endpoints each)
//      BENCH_UPDATES=5           one-endpoint changes per scale (each done twice: in parts and whole)
//      BENCH_RENDER_RUNS         render repetitions (default 5 up to 1k Services, 3 above)
//      BENCH_BUDGET_S=240        per scale, the apply child stops repeating changes once past this
//      BENCH_APPLY_MAX           largest scale that is also applied (default: all); above it, render only
//      BENCH_OUT=BENCHMARKS.md   where the report goes

import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nftablesBackend } from '../src/backends/nftables/index.js';
import { serializeTables } from '../src/backends/nftables/document.js';
import { renderTables } from '../src/backends/nftables/render.js';
import { machineFacts, writeReport, type ScaleResult } from './report.js';
import { median, timed } from './stats.js';
import { syntheticInput } from './synthetic.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

const scales = (process.env.BENCH_SCALES ?? '1000,10000').split(',').map((s) => Number(s.trim())).filter((n) => n > 0);
const updates = Number(process.env.BENCH_UPDATES ?? 5);
const applyMax = Number(process.env.BENCH_APPLY_MAX ?? Infinity);
const budgetS = Number(process.env.BENCH_BUDGET_S ?? 240);
const out = resolve(root, process.env.BENCH_OUT ?? 'BENCHMARKS.md');

const namespaces = new Set<string>();

async function addNetns(name: string): Promise<void> {
  await execa('ip', ['netns', 'add', name]);
  namespaces.add(name);
  await execa('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up']);
}

async function deleteNetns(name: string): Promise<void> {
  await execa('ip', ['netns', 'delete', name], { reject: false });
  namespaces.delete(name);
}

function deleteAllSync(): void {
  // On a signal there is no time for promises: delete what we created, synchronously.
  for (const n of namespaces) {
    spawnSync('ip', ['netns', 'delete', n], { stdio: 'ignore' });
  }
  namespaces.clear();
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    deleteAllSync();
    process.exit(130);
  });
}

async function child(ns: string, args: string[]): Promise<unknown> {
  const r = await execa('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', join(here, 'apply-child.ts'), ...args], {
    cwd: root,
    reject: false,
    env: { NODE_OPTIONS: '--max-old-space-size=8192' },
  });
  if (r.exitCode !== 0) throw new Error(`bench child in ${ns} failed (${r.exitCode}): ${r.stderr.trim()}`);
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(last) as unknown;
}

async function benchScale(services: number, tmp: string): Promise<ScaleResult> {
  const log = (m: string) => process.stderr.write(`[bench ${services}] ${m}\n`);
  const input = syntheticInput(services);
  const runs = Number(process.env.BENCH_RENDER_RUNS ?? (services <= 1000 ? 5 : 3));

  log(`render x${runs}`);
  const backend: number[] = [];
  const tables: number[] = [];
  const serialize: number[] = [];
  let doc = '';
  for (let i = 0; i < runs; i++) {
    const [d, t] = await timed(() => nftablesBackend.render(input));
    backend.push(t);
    doc = d;
    const [tb, t1] = await timed(() => renderTables(input));
    tables.push(t1);
    const [, t2] = await timed(() => serializeTables(tb));
    serialize.push(t2);
  }
  const render = {
    runs,
    backendRender: median(backend),
    renderTables: median(tables),
    serializeTables: median(serialize),
    documentBytes: Buffer.byteLength(doc),
    documentLines: doc.split('\n').length - 1,
  };
  doc = '';

  if (services > applyMax) return { services, endpoints: services * 10, render };

  const inputPath = join(tmp, `input-${services}.json`);
  await writeFile(inputPath, JSON.stringify(input));

  const nsAlone = `svp-bench-${process.pid}-${services}-a`;
  const nsApply = `svp-bench-${process.pid}-${services}-b`;
  try {
    await addNetns(nsAlone);
    log('nft -j -f alone');
    const alone = await child(nsAlone, ['nft-alone', inputPath]);
    await deleteNetns(nsAlone);
    await addNetns(nsApply);
    log(`full apply, then ${updates} x 2 one-endpoint changes`);
    const apply = await child(nsApply, ['apply', inputPath, String(updates), String(budgetS)]);
    return { services, endpoints: services * 10, render, alone, apply } as ScaleResult;
  } finally {
    await deleteNetns(nsAlone);
    await deleteNetns(nsApply);
  }
}

async function main(): Promise<void> {
  const tmp = await mkdtemp(join(tmpdir(), 'svp-bench-'));
  const results: ScaleResult[] = [];
  const [, wall] = await timed(async () => {
    try {
      for (const s of scales) results.push(await benchScale(s, tmp));
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
  const facts = await machineFacts();
  await writeReport(out, { facts, scales, updates, budgetS, applyMax, results, wallMs: wall, date: new Date().toISOString() });
  process.stderr.write(`wrote ${out} (${(wall / 1000).toFixed(0)} s)\n`);
}

main().catch((e: unknown) => {
  deleteAllSync();
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
