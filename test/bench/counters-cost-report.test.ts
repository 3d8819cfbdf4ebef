// The counters-cost part of BENCHMARKS.md: the targets row's verdict rests on the median of
// the per-batch ratios and its interval (met only when the interval lies inside 5 % for both
// latency and throughput, missed when it lies wholly past, else unclear); the pooled figures
// stay beside; the section gives every batch's ratios.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countersCost, countersCostSection, countersCostTargetRow } from '../../bench/report-dataplane.js';
import type { BenchResults } from '../../bench/results.js';
import { medianInterval } from '../../bench/stats.js';

/** `batches` batches of 2 connections and 1 transfer per variant; each batch's with/without ratios are given. */
function results(latency: number[], throughput: number[], pairing?: 'sources'): BenchResults {
  const batches = latency.length;
  const row = {
    others: 1000,
    withCounters: latency.flatMap((x) => [100 * (1 + x), 100 * (1 + x)]),
    withoutCounters: latency.flatMap(() => [100, 100]),
    throughputWith: throughput.map((x) => 100 * (1 + x)),
    throughputWithout: throughput.map(() => 100),
    ...(pairing ? { pairing } : {}),
  };
  const settings = { others: 1000, connections: 2, batches, warmup: 0, bulkMB: 10, bulkRounds: 1 };
  return { countersCost: row, countersCostIptables: row, settings: { countersCost: settings } } as unknown as BenchResults;
}

const flat = (x: number, n = 12) => Array.from({ length: n }, () => x);

describe('the median interval (order statistics)', () => {
  it('12 values: the 3rd to the 10th, 96 % coverage; 5 values: min to max, 94 %', () => {
    const twelve = medianInterval([12, 1, 11, 2, 10, 3, 9, 4, 8, 5, 7, 6]);
    assert.deepEqual([twelve.lo, twelve.hi], [3, 10]);
    assert.equal(twelve.coverage.toFixed(3), '0.961');
    const five = medianInterval([5, 4, 3, 2, 1]);
    assert.deepEqual([five.lo, five.hi, five.coverage], [1, 5, 1 - 2 / 32]);
  });
});

describe('counters cost in the report', () => {
  it('met when both intervals lie inside 5 %', () => {
    const row = countersCostTargetRow(results([0.01, 0.02, 0.03, 0.02, 0.01, 0.04, 0.0, 0.02, 0.03, 0.01, 0.02, 0.02], flat(-0.01)));
    assert.equal(row?.met, true);
    assert.match(row!.measured, /median of 12 per-batch ratios: first-packet latency p50 \+2\.0 % \(96 % interval \+1\.0 % to \+3\.0 %\)/);
    assert.match(row!.measured, /pooled: latency p50 \+2\.0 %, throughput −1\.0 %/);
  });

  it('unclear when an interval straddles 5 %, even though its median is under it', () => {
    const lat = [-0.2, -0.1, 0.0, 0.01, 0.02, 0.03, 0.03, 0.04, 0.08, 0.1, 0.3, 0.5];
    const q = countersCost(results(lat, flat(0)));
    assert.ok(q!.latencyPaired.median < 0.05);
    assert.equal(q!.verdict, 'unclear');
    const row = countersCostTargetRow(results(lat, flat(0)));
    assert.equal(row?.met, 'unclear');
    assert.match(row!.limits, /straddles 5 %/);
  });

  it('missed when the latency interval lies past 5 %, or the throughput one below −5 %; faster with counters is no cost', () => {
    assert.equal(countersCost(results(flat(0.1), flat(0)))!.verdict, 'missed');
    assert.equal(countersCost(results(flat(0), flat(-0.1)))!.verdict, 'missed');
    assert.equal(countersCost(results(flat(-0.1), flat(0.2)))!.verdict, 'met');
  });

  it('a few outlying batches move the pooled figure, not the verdict', () => {
    // Ten quiet batches at +1 %, two loaded ones at +80 % (the interval of 12 drops two each side); a third would widen it.
    const two = [0.01, 0.01, 0.01, 0.8, 0.01, 0.01, 0.01, 0.01, 0.01, 0.8, 0.01, 0.01];
    assert.equal(countersCost(results(two, flat(0)))!.verdict, 'met');
    assert.equal(countersCost(results(two.map((x, i) => (i === 0 ? 0.8 : x)), flat(0)))!.verdict, 'unclear');
  });

  it('too few batches for 90 % coverage: unclear, whatever the values', () => {
    const q = countersCost(results([0.01, 0.01, 0.01, 0.01], [0, 0, 0, 0]));
    assert.equal(q!.verdict, 'unclear');
    assert.match(countersCostTargetRow(results([0.01, 0.01], [0, 0]))!.limits, /too few batches/);
  });

  it('not measured: no row, no section', () => {
    assert.equal(countersCostTargetRow({ settings: {} } as unknown as BenchResults), undefined);
    const L: string[] = [];
    countersCostSection(L, { settings: {} } as unknown as BenchResults);
    assert.deepEqual(L, []);
  });

  it('iptables has its own row and section, from its own results', () => {
    const r = { ...results(flat(0.01), flat(0)), countersCostIptables: undefined } as unknown as BenchResults;
    assert.equal(countersCostTargetRow(r, 'iptables'), undefined, 'not run for iptables: no row');
    const ipt = countersCostTargetRow(results(flat(0.1), flat(0)), 'iptables');
    assert.match(ipt!.target, /\(iptables, /);
    assert.match(ipt!.limits, /mangle POSTROUTING\/INPUT/);
  });

  it('the section gives every batch\'s ratios and says how the variants were paired', () => {
    const L: string[] = [];
    countersCostSection(L, results([0.1, -0.1, 0.02, 0.02, 0.02, 0.02], [-0.2, 0, 0, 0, 0, 0], 'sources'), 'iptables');
    const text = L.join('\n');
    assert.match(text, /\| first packet p50 change \| \+10\.0 % \| −10\.0 % \| \+2\.0 %/);
    assert.match(text, /\| bulk throughput change \| −20\.0 % \| \+0\.0 %/);
    assert.match(text, /alternates between its two addresses connection by/);
    const old: string[] = [];
    countersCostSection(old, results(flat(0.01), flat(0)), 'iptables');
    assert.match(old.join('\n'), /four counting rules are inserted or removed/, 'older results: the switched rulesets');
  });
});
