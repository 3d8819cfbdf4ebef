// The counters-cost part of BENCHMARKS.md: the targets row's verdict (both the latency
// rise and the throughput loss must stay under 5 %) and the section's batch spread.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countersCostSection, countersCostTargetRow } from '../../bench/report-dataplane.js';
import type { BenchResults } from '../../bench/results.js';

const SETTINGS = { others: 1000, connections: 2, batches: 2, warmup: 0, bulkMB: 10, bulkRounds: 1 };

function results(withCounters: number[], withoutCounters: number[], throughputWith: number[], throughputWithout: number[]): BenchResults {
  return { countersCost: { others: 1000, withCounters, withoutCounters, throughputWith, throughputWithout }, settings: { countersCost: SETTINGS } } as unknown as BenchResults;
}

describe('counters cost in the report', () => {
  it('met when latency rises and throughput falls by less than 5 %', () => {
    const row = countersCostTargetRow(results([103, 103, 103, 103], [100, 100, 100, 100], [98, 98], [100, 100]));
    assert.equal(row?.met, true);
    assert.match(row!.measured, /latency p50 \+3\.0 %; bulk throughput −2\.0 %/);
  });

  it('missed when either one costs 5 % or more; faster with counters is no cost', () => {
    assert.equal(countersCostTargetRow(results([90, 90, 90, 90], [100, 100, 100, 100], [90, 90], [100, 100]))?.met, false);
    assert.equal(countersCostTargetRow(results([110, 110, 110, 110], [100, 100, 100, 100], [100, 100], [100, 100]))?.met, false);
    assert.equal(countersCostTargetRow(results([90, 90, 90, 90], [100, 100, 100, 100], [100, 100], [100, 100]))?.met, true);
  });

  it('not measured: no row, no section', () => {
    assert.equal(countersCostTargetRow({ settings: {} } as unknown as BenchResults), undefined);
    const L: string[] = [];
    countersCostSection(L, { settings: {} } as unknown as BenchResults);
    assert.deepEqual(L, []);
  });

  it('iptables has its own row and section, from its own results', () => {
    const r = { ...results([103, 103, 103, 103], [100, 100, 100, 100], [98, 98], [100, 100]), countersCostIptables: { others: 1000, withCounters: [110, 110], withoutCounters: [100, 100], throughputWith: [100], throughputWithout: [100] } } as unknown as BenchResults;
    assert.equal(countersCostTargetRow(r, 'nftables')?.met, true);
    const ipt = countersCostTargetRow(r, 'iptables');
    assert.equal(ipt?.met, false);
    assert.match(ipt!.target, /\(iptables, /);
    assert.match(ipt!.limits, /mangle POSTROUTING\/INPUT/);
    assert.equal(countersCostTargetRow(results([1], [1], [1], [1]), 'iptables'), undefined, 'not run for iptables: no row');
    const L: string[] = [];
    countersCostSection(L, r, 'iptables');
    assert.ok(L[0]!.includes('(iptables)') && L.some((l) => l.includes('four counting rules')), L.join('\n'));
  });

  it('the section gives the per-batch spread of both ratios', () => {
    const L: string[] = [];
    // Batch 1: latency +10 %, throughput −20 %; batch 2: latency −10 %, throughput 0.
    countersCostSection(L, results([110, 110, 90, 90], [100, 100, 100, 100], [80, 100], [100, 100]));
    assert.ok(L.some((l) => /latency change ranges −10\.0 % to \+10\.0 % and the throughput change −20\.0 % to \+0\.0 %/.test(l)), L.join('\n'));
  });
});
