// The targets table's rows for agent memory and the cluster: verdicts from the same
// run's results, and no verdict where the run could not give one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentMemoryTargetRows, clusterTargetRow } from '../../bench/report-headline.js';
import type { BenchResults } from '../../bench/results.js';

const memory = (services: number, hwmMiB: number, endpointsPerService = 10) => ({ backend: 'nftables', source: 'api', services, endpointsPerService, hwmFirstSyncKiB: 1024, hwmResyncKiB: hwmMiB * 1024, hwmChangesKiB: 2048 });
const cluster = (nodes: number, latencies: number[], error?: string) =>
  ({ cluster: { options: { nodes, services: 1000 }, nodes: nodes ? [{ latencies }] : [], ...(error ? { error } : {}) } }) as unknown as BenchResults;

describe('headline target rows', () => {
  it('agent memory: the peak of the three steps against 150 MiB at 10k x 10 and 44k x 1 and 60 MiB idle; other scales give no row', () => {
    const rows = agentMemoryTargetRows({ agentMemory: [memory(10_000, 149), memory(44_000, 151, 1), memory(10_000, 100, 1), memory(2, 61), memory(1000, 500)] } as unknown as BenchResults);
    assert.deepEqual(rows.map((r) => [r.target.split(' (')[0], r.measured, r.met]), [
      ['agent peak RSS at 10k Services under 150 MiB', '149 MiB (VmHWM)', true],
      ['agent peak RSS at 44k × 1 Services under 150 MiB', '151 MiB (VmHWM)', false],
      ['agent idle RSS', '61 MiB (VmHWM)', false],
    ]);
  });

  it('cluster: met at 20 nodes with p99 under 1 s; a change never synced misses; fewer nodes or a failed run is no verdict', () => {
    const fast = Array.from({ length: 100 }, (_, i) => 100 + i);
    assert.equal(clusterTargetRow(cluster(20, fast))?.met, true);
    assert.equal(clusterTargetRow(cluster(20, [...fast, Infinity]))?.met, false);
    assert.equal(clusterTargetRow(cluster(20, [...fast.slice(2), 1500, 1600]))?.met, false);
    assert.equal(clusterTargetRow(cluster(5, fast))?.met, undefined);
    assert.match(clusterTargetRow(cluster(0, [], 'nft list ruleset timed out'))!.measured, /failed: nft list ruleset timed out/);
    assert.equal(clusterTargetRow({} as BenchResults), undefined);
  });
});
