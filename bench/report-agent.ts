// The "Agent" part of BENCHMARKS.md (issue 6: event-to-kernel latency of one endpoint
// change, and the agent's peak RSS).

import type { AgentResult, AgentRound } from './agent-scale.js';
import { k, ms } from './report.js';
import { median, quantile } from './stats.js';

const TARGET_P99_MS = 50;
const TARGET_RSS_MIB = 150;
const mib = (kib: number) => kib / 1024;

type Col = 'reloaded' | 'synced' | 'seen' | 'syncOwn';
const col = (rs: readonly AgentRound[], c: Col) => rs.map((r) => r[c]);
const afterReload = (rs: readonly AgentRound[]) => rs.map((r) => r.synced - r.reloaded);
const p50p99 = (xs: readonly number[]) => `${ms(median(xs))} / ${ms(quantile(xs, 0.99))}`;

export function agentSection(L: string[], results: readonly AgentResult[], header?: string): void {
  if (results.length === 0) return;
  const a = results[0]!;
  L.push('## Agent', '');
  if (header) L.push(header, '');
  L.push('The real CLI, `svcplane agent --backend nftables`, in offline mode (`--plan plan.json');
  L.push('--endpoints-file DIR`, one EndpointSlice file per Service) inside a throw-away namespace, with');
  L.push(`\`nftables: {minSyncPeriod: '${a.minSyncPeriod}', syncPeriod: '${a.syncPeriod}'}\` (no periodic sync during the rounds). After its first`);
  L.push('full sync, each round atomically replaces one Service\'s slice file (write beside, rename in) with one');
  L.push('endpoint added or removed — alternately, a different Service each round — and times from the rename:');
  L.push('');
  L.push('- **reloaded**: the agent logs "endpoint files reloaded". Its `fs.watch` on the folder fires at the');
  L.push('  rename (the 2 s stat poll is only the fallback for ConfigMap symlink swaps), so this is the');
  L.push('  file-watch cost proper: a fingerprint (`stat` of every file) and then re-reading and parsing');
  L.push('  *every* file in the folder — offline mode keeps no per-file cache;');
  L.push('- **synced**: its next "synced" line — the nft transaction has returned, the kernel holds the change;');
  L.push('- **seen**: `ip netns exec NS nft -j list chain ip svcplane svc-…` polled back to back first shows');
  L.push('  the change (later than "synced" by up to one poll);');
  L.push('- **reload → synced**: synced − reloaded, the scheduler + sync part alone, which is what an');
  L.push('  API-watch event would cost (no files to read); **sync (own)** is the sync\'s duration the agent logs.');
  L.push('');
  L.push('`kubeproxy_network_programming_duration_seconds` is not used: the agent takes trigger times');
  L.push('(`endpoints.kubernetes.io/last-change-trigger-time`) from API-watched slices only, not from files.');
  L.push('Cells are **p50 / p99** in ms (nearest rank; with n < 100 p99 is the max). Peak RSS is `VmHWM` of');
  L.push(
    results.every((r) => r.entry === 'compiled')
      ? 'the agent process (`/proc/PID/status`) at the end: the compiled CLI (`lib/cli/main.js`, as in the image); the first row, a few Services, is the floor.'
      : 'the agent process (`/proc/PID/status`) at the end: it ran from source under `node --import tsx`, so it includes tsx\'s loader (~30 MiB); the first row, a few Services, is that floor. "Agent memory" below has the compiled agent\'s.',
  );
  L.push('');
  L.push('| Services | n | reloaded | synced | seen | reload → synced | sync (own) | poll (p50) | start → first sync | first sync (own) | peak RSS (VmHWM) | RSS at end |');
  L.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const rs = r.rounds;
    L.push(
      `| ${k(r.services)} | ${rs.length} | ${p50p99(col(rs, 'reloaded'))} | ${p50p99(col(rs, 'synced'))} | ${p50p99(col(rs, 'seen'))} | ${p50p99(afterReload(rs))} | ${p50p99(col(rs, 'syncOwn'))} | ${ms(r.pollMs)} | ${ms(r.startToFirstSync)} | ${ms(r.firstSyncOwn)} | ${mib(r.vmHWMKiB).toFixed(0)} MiB | ${mib(r.vmRSSKiB).toFixed(0)} MiB |`,
    );
  }
  L.push('');
}

export function agentSummary(L: string[], results: readonly AgentResult[]): void {
  for (const r of results) {
    const rs = r.rounds;
    if (r.services < 100) {
      L.push(
        `- **${r.services} Services (the floor).** Peak RSS ${mib(r.vmHWMKiB).toFixed(0)} MiB, ${mib(r.vmRSSKiB).toFixed(0)} MiB at the end: node${r.entry === 'compiled' ? '' : ", tsx's loader"} and the agent's code with almost no data —` +
          ' subtract it from the rows above to see what the Services themselves cost.' +
          ` Reload → synced here, p50 ${ms(median(afterReload(rs)))} ms, is what a sync costs with nothing to speak of in the table` +
          ' (each sync spawns `ip -j addr show` for the local addresses and `nft` for the transaction): a fixed part of every row below.',
      );
      continue;
    }
    const synced99 = quantile(col(rs, 'synced'), 0.99);
    const inner99 = quantile(afterReload(rs), 0.99);
    const big = r.services === 10000;
    const hwm = mib(r.vmHWMKiB);
    L.push(`- **${k(r.services)} Services.**`);
    L.push(
      `  File write to kernel ("synced"): p50 ${ms(median(col(rs, 'synced')))} ms, p99 ${ms(synced99)} ms (n=${rs.length}${rs.length < 100 ? ', p99 = max' : ''});` +
        ` ${ms(median(col(rs, 'reloaded')))} ms of the p50 is the file watch and the re-read of all ${k(r.services)} slice files before the agent even queues the change.`,
    );
    L.push(
      `  From the reload to the kernel (scheduler + sync, what an API event costs): p50 ${ms(median(afterReload(rs)))} ms, p99 ${ms(inner99)} ms` +
        (big
          ? ` — target p99 under ${TARGET_P99_MS} ms: end to end from the file **${synced99 < TARGET_P99_MS ? 'met' : 'missed'}**; sync part alone **${inner99 < TARGET_P99_MS ? 'met' : 'missed'}**.`
          : '.'),
    );
    L.push(
      `  The sync's own time (p50 ${ms(median(col(rs, 'syncOwn')))} ms) is the same work as the syncer's one-endpoint change in the nftables section` +
        ' (build the input, render, diff, one transaction that rewrites the Service\'s chain), so it grows with the table the way that one does.',
    );
    L.push(`  The polled nft listing saw the change ${ms(median(rs.map((x) => x.seen - x.synced)))} ms after "synced" (p50; one poll takes ${ms(r.pollMs)} ms at this size).`);
    L.push(
      `  Peak RSS ${hwm.toFixed(0)} MiB` +
        (big && r.entry === 'compiled' ? ` — target under ${TARGET_RSS_MIB} MiB: **${hwm < TARGET_RSS_MIB ? 'met' : 'missed'}**.` : big ? ' (under tsx: the target is the compiled agent\'s, "Agent memory").' : '.') +
        (r.vmRSSKiB < 0.9 * r.vmHWMKiB
          ? ` (${mib(r.vmRSSKiB).toFixed(0)} MiB at the end: the peak comes from the first full sync, which holds the whole render and transaction at once).`
          : ` (${mib(r.vmRSSKiB).toFixed(0)} MiB at the end).`) +
        ` First full sync ${ms(r.firstSyncOwn)} ms (its own), ${ms(r.startToFirstSync)} ms from spawning the CLI.`,
    );
  }
}
