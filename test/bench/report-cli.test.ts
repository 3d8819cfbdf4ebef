// The targets table's CLI rows: `render -f` of the List against 2 s with the `node -e 0`
// run beside it (how fast the machine was), the one-Service render against 3× `node -e 0`,
// from this run's rows and from an older run's (no kind, a baseline on the one-Service row only).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CliResult, CliRow } from '../../bench/cli.js';
import { cliTargetRows } from '../../bench/report-cli.js';

const run = (ms: number) => ({ ms, peakKiB: 1024 });
function row(backend: string, kind: CliRow['kind'], ms: number[], node?: number[]): CliRow {
  return {
    command: kind === 'one' ? 'render -f one.yaml' : `render -f list.json --backend ${backend}`,
    backend,
    ...(kind ? { kind } : {}),
    runs: ms.map(run),
    ...(node ? { baseline: node.map(run), ratios: ms.map((m, i) => m / node[i]!) } : {}),
    outputBytes: 1,
  };
}
const result = (rows: CliRow[]): CliResult => ({ services: 10_000, endpointsPerService: 10, inputBytes: 1, rows });

describe('CLI target rows', () => {
  it('every row beside node -e 0: the List rows say how fast the machine was; the one-Service row is the ratio target', () => {
    const rows = cliTargetRows(
      result([
        row('plan', 'list', [800, 800, 800], [60, 60, 60]),
        row('nftables', 'list', [1900, 1950, 2100], [100, 100, 100]),
        row('iptables', 'list', [2500, 2600, 2700], [130, 130, 130]),
        row('ipvs', 'list', [900, 900, 900], [60, 60, 60]),
        row('nftables', 'one', [150, 160, 170], [60, 50, 60]),
      ]),
    );
    assert.deepEqual(
      rows.map((r) => [r.target.replace(/ of a .*\(/, ' (').replace(/ within .*/, ''), r.met]),
      [
        ['`svcplane render -f` (nftables)', true],
        ['`svcplane render -f` (iptables)', false],
        ['render of one Service', true],
      ],
    );
    assert.match(rows[0]!.measured, /^1950 ms \(median of 3; 19\.50× \(node -e 0: 100 ms\)\)$/);
    assert.match(rows[1]!.limits, /node -e 0/);
    assert.equal(rows[0]!.limits, '');
    assert.match(rows[2]!.measured, /^2\.\d\d× \(160 ms\)$/);
  });

  it('an older run: the row with ratios is the one-Service row, the List rows have no baseline', () => {
    const rows = cliTargetRows(result([row('nftables', undefined, [2100, 2200, 2300]), row('nftables', undefined, [300, 300, 300], [100, 100, 100])]));
    assert.equal(rows.length, 2);
    assert.equal(rows[0]!.measured, '2200 ms (median of 3)');
    assert.equal(rows[0]!.met, false);
    assert.doesNotMatch(rows[0]!.limits, /node -e 0/);
    assert.equal(rows[1]!.measured, '3.00× (300 ms)');
    assert.equal(rows[1]!.met, true);
  });
});
