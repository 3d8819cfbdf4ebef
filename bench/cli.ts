// The command a user runs, timed from outside as a whole process: `svcplane render -f` of
// the S × E synthetic List (bench/synthetic-manifests.ts) as one JSON file, and of one
// Service as YAML, each run in turn with `node -e 0` (A B A B): start-up is most of a
// one-Service render, and beside the big rows the baseline says how fast the machine was
// while they ran (the same code took 1.1 s here quiet and 2.1 s in a whole bench whose
// `node -e 0` took twice its quiet time: the host is shared). The compiled CLI
// (lib/cli/main.js, built first with tsc) is what a node or a user runs. Ratios are per pair.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { median } from './stats.js';
import { syntheticList } from './synthetic-manifests.js';

export interface CliRun {
  /** Wall time, spawn to exit, ms. */
  ms: number;
  /** VmHWM of the CLI process, KiB (NaN for `node -e 0`, which is not instrumented). */
  peakKiB: number;
}

export interface CliRow {
  /** What ran, as a user would type it (paths shortened). */
  command: string;
  backend: string;
  /** 'one': the one-Service render, whose ratio to `node -e 0` is a target; 'list': the whole synthetic List. Absent in older results: the row with ratios was the one-Service row. */
  kind?: 'list' | 'one';
  runs: CliRun[];
  /** `node -e 0` run in turn with the command, and the per-pair ratios (older results: the one-Service row only). */
  baseline?: CliRun[];
  ratios?: number[];
  outputBytes: number;
}

export interface CliResult {
  services: number;
  endpointsPerService: number;
  inputBytes: number;
  rows: CliRow[];
}

interface Spawned {
  run: CliRun;
  stdoutBytes: number;
}

async function spawnTimed(file: string, args: readonly string[], peakFile: string | undefined, cwd: string): Promise<Spawned> {
  if (peakFile) await writeFile(peakFile, '');
  const t0 = performance.now();
  const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(peakFile ? { BENCH_PEAK_FILE: peakFile } : {}) } });
  let stdoutBytes = 0;
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdoutBytes += c.length));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`);
  const peakKiB = peakFile ? Number((await readFile(peakFile, 'utf8')).trim().split('\n').pop()) : NaN;
  return { run: { ms, peakKiB }, stdoutBytes };
}

/** One Service of the synthetic cluster, with its slice and node1, as a user's YAML file. */
function oneServiceYaml(): string {
  const items = (syntheticList(1, 10).items as Record<string, unknown>[]).filter((o) => o.kind !== 'KubeProxyConfiguration' && o.kind !== 'ServiceCIDR');
  return items.map((o) => `---\n${stringify(o)}`).join('');
}

export async function benchCli(root: string, services: number, perService: number, runs: number, log: (m: string) => void): Promise<CliResult> {
  const dir = await mkdtemp(join(tmpdir(), 'svp-bench-cli-'));
  try {
    const big = join(dir, 'list.json');
    const one = join(dir, 'one.yaml');
    const text = JSON.stringify(syntheticList(services, perService));
    await writeFile(big, text);
    await writeFile(one, oneServiceYaml());
    const peak = join(dir, 'peak');
    const cli = ['--import', join(root, 'bench/peak-on-exit.mjs'), join(root, 'lib/cli/main.js')];
    const rows: CliRow[] = [];
    // Each run in turn with `node -e 0`, after a warm-up pair (the file cache) that is not counted.
    const measure = async (command: string, backend: string, kind: CliRow['kind'], args: string[]) => {
      log(`${command} beside node -e 0 x${runs}`);
      const argv = [...cli, ...args];
      await spawnTimed(process.execPath, argv, peak, root);
      await spawnTimed(process.execPath, ['-e', '0'], undefined, root);
      const row: CliRow = { command, backend, kind, runs: [], baseline: [], ratios: [], outputBytes: 0 };
      for (let i = 0; i < runs; i++) {
        const a = await spawnTimed(process.execPath, argv, peak, root);
        const b = await spawnTimed(process.execPath, ['-e', '0'], undefined, root);
        row.runs.push(a.run);
        row.baseline!.push(b.run);
        row.ratios!.push(a.run.ms / b.run.ms);
        row.outputBytes = a.stdoutBytes;
      }
      rows.push(row);
    };
    const size = `${services / 1000}k × ${perService}`;
    await measure(`svcplane plan -f list.json (${size})`, 'plan', 'list', ['plan', '-f', big]);
    for (const b of ['nftables', 'iptables', 'ipvs']) await measure(`svcplane render -f list.json --backend ${b} (${size})`, b, 'list', ['render', '-f', big, '--backend', b]);
    await measure('svcplane render -f one.yaml --backend nftables (1 Service)', 'nftables', 'one', ['render', '-f', one, '--backend', 'nftables']);
    return { services, endpointsPerService: perService, inputBytes: Buffer.byteLength(text), rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Whether a row is the one-Service render (older results mark it only by having ratios). */
export function isOneServiceRow(row: CliRow): boolean {
  return row.kind === undefined ? row.ratios !== undefined && row.ratios.length > 0 : row.kind === 'one';
}

/** Median wall time of a row, ms. */
export function cliMedianMs(row: CliRow): number {
  return median(row.runs.map((r) => r.ms));
}
