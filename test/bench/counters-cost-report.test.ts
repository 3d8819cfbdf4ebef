// The counters-cost part of BENCHMARKS.md: the targets row's verdict rests on the median of
// the per-batch ratios and its interval (met only when the interval lies inside 5 % for both
// latency and throughput, missed when it lies wholly past, else unclear); the pooled figures
// stay beside; the section gives every batch's ratios.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countedCheck, countersCost, countersCostSection, countersCostTargetRow } from '../../bench/report-dataplane.js';
import type { BenchResults } from '../../bench/results.js';
import type { CountedProof } from '../../bench/dataplane.js';
import { medianInterval } from '../../bench/stats.js';

/** `batches` batches of 2 connections and 1 transfer per variant; each batch's with/without ratios are given. */
function results(latency: number[], throughput: number[], pairing?: 'sources', cpu?: number[], counted?: CountedProof): BenchResults {
  const batches = latency.length;
  const row = {
    others: 1000,
    withCounters: latency.flatMap((x) => [100 * (1 + x), 100 * (1 + x)]),
    withoutCounters: latency.flatMap(() => [100, 100]),
    throughputWith: throughput.map((x) => 100 * (1 + x)),
    throughputWithout: throughput.map(() => 100),
    ...(pairing ? { pairing, pinned: 'same' } : {}),
    ...(cpu ? { cpuWith: cpu.map((x) => 1000 * (1 + x)), cpuWithout: cpu.map(() => 1000) } : {}),
    ...(counted ? { counted } : {}),
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

  it('paired runs: CPU per MB decides the bulk half; noisy MB/s beside it does not hold the verdict open', () => {
    const noisyWall = [-0.4, 0.3, -0.2, 0.5, -0.3, 0.2, -0.1, 0.4, -0.5, 0.1, 0.3, -0.2];
    const q = countersCost(results(flat(0.01), noisyWall, 'sources', flat(0.02)))!;
    assert.equal(q.verdict, 'met');
    assert.equal(countersCost(results(flat(0.01), noisyWall))!.verdict, 'unclear', 'without CPU figures the wall clock decides, as before');
    assert.equal(countersCost(results(flat(0.01), flat(0), 'sources', flat(0.08)))!.verdict, 'missed', 'CPU per MB wholly past 5 %');
    assert.equal(countersCost(results(flat(0.01), flat(0), 'sources', [...flat(0.02, 6), ...flat(0.08, 6)]))!.verdict, 'unclear');
    const row = countersCostTargetRow(results(flat(0.01), noisyWall, 'sources', flat(0.02)), 'nftables')!;
    assert.match(row.measured, /^paired by client address, pinned \(same\): median of 12/);
    assert.match(row.measured, /bulk CPU per MB \+2\.0 % \(\+2\.0 % to \+2\.0 %; decides\), bulk MB\/s/);
    const L: string[] = [];
    countersCostSection(L, results(flat(0.01), noisyWall, 'sources', flat(0.02)), 'nftables');
    const text = L.join('\n');
    assert.match(text, /\| bulk CPU per MB change \| \+2\.0 % \|/);
    assert.match(text, /\| with counters \| 24 \| 101 \| 101 \| \d+ \| 1020 \| 12 \|/);
    assert.match(text, /`ct original ip saddr B goto nc-<chain>`/, 'nftables paired: its own method text');
    assert.match(text, /all 12 pairs of transfers taken at once, median \+2\.0 % \(96 % interval \+2\.0 % to \+2\.0 %\)/);
    assert.match(countersCostTargetRow(results(flat(0.01), flat(0)))!.measured, /^rulesets switched per batch: /);
  });

  it("the node's counters: the first address counted, the second not, else no verdict", () => {
    const sent = { with: { connections: 100, bytes: 100 << 20 }, without: { connections: 100, bytes: 100 << 20 } };
    const good: CountedProof = { values: { bytes: 103 << 20, packets: 5000, new_connections: 100 }, connectionsPerAddress: true, sent };
    assert.equal(countedCheck(good).ok, true);
    assert.match(countedCheck(good).text, /103\.0 MiB, 5000 packets, 100 new connections; the counted address sent 100\.0 MiB .* So the first address's traffic was counted and the second's was not\./);
    assert.equal(countedCheck({ ...good, values: { bytes: 205 << 20, new_connections: 200 } }).ok, false, 'both counted');
    assert.equal(countedCheck({ ...good, values: { bytes: 1 << 20, new_connections: 0 } }).ok, false, 'neither counted');
    assert.equal(countedCheck({ ...good, values: { bytes: 103 << 20, new_connections: 150 } }).ok, false, 'new connections of neither one address nor both');
    assert.equal(countedCheck({ values: { bytes: 103 << 20, new_connections: 200 }, sent }).ok, true, 'iptables: its nat rules count both addresses\' connections');
    assert.equal(countedCheck({ values: { bytes: 103 << 20, new_connections: 100 }, sent }).ok, false);
    const bad = results(flat(0.01), flat(0), 'sources', flat(0.01), { ...good, values: { bytes: 205 << 20 } });
    assert.equal(countersCost(bad)!.verdict, 'unclear');
    assert.match(countersCostTargetRow(bad)!.limits, /contradict the pairing/);
  });

  it('paired runs: a batch\'s bulk change is the median of its pairs\' ratios, not the ratio of its medians', () => {
    // Two pairs 1 % apart (load moved both transfers of a pair alike), one pair hit by load on one side only.
    const r = results(flat(0, 6), flat(0, 6), 'sources', flat(0, 6));
    r.countersCost!.throughputWith = Array.from({ length: 6 }, () => [101, 606, 500]).flat();
    r.countersCost!.throughputWithout = Array.from({ length: 6 }, () => [100, 600, 200]).flat();
    assert.deepEqual(countersCost(r)!.throughputPaired.batches.map((x) => x.toFixed(3)), flat(0.01, 6).map((x) => x.toFixed(3)));
    const old = results(flat(0, 6), flat(0, 6));
    old.countersCost!.throughputWith = r.countersCost!.throughputWith;
    old.countersCost!.throughputWithout = r.countersCost!.throughputWithout;
    assert.equal(countersCost(old)!.throughputPaired.median.toFixed(3), (500 / 200 - 1).toFixed(3), 'unpaired results: the ratio of the medians');
  });
});
