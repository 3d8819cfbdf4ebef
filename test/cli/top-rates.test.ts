// `svcplane top`'s rates: per Service port, busiest first, restarts counted from 0.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrafficSample } from '../../src/backends/traffic.js';
import { formatTop, topRows } from '../../src/cli/top-rates.js';

const id = (service: string) => ({ namespace: 'shop', service, port: 80, protocol: 'TCP' });
const s = (service: string, kind: TrafficSample['kind'], value: number, reason?: TrafficSample['reason']): TrafficSample => ({ ...id(service), kind, value, ...(reason ? { reason } : {}) });

describe('top rates', () => {
  it('rates over the interval, busiest first, refusals summed over reasons', () => {
    const before = [s('quiet', 'packets', 1000), s('busy', 'packets', 10), s('busy', 'bytes', 100), s('refused', 'rejected_packets', 0, 'no_endpoints')];
    const after = [s('quiet', 'packets', 1002), s('busy', 'packets', 210), s('busy', 'bytes', 20100), s('busy', 'new_connections', 20), s('refused', 'rejected_packets', 4, 'no_endpoints'), s('refused', 'dropped_packets', 2, 'source_range')];
    const rows = topRows(before, after, 2);
    assert.deepEqual(rows.map((r) => r.service), ['busy', 'quiet', 'refused']);
    assert.deepEqual(
      { pps: rows[0]!.packetsPerSecond, bps: rows[0]!.bytesPerSecond, cps: rows[0]!.newConnectionsPerSecond, packets: rows[0]!.packets },
      { pps: 100, bps: 10000, cps: 10, packets: 210 },
    );
    assert.deepEqual([rows[2]!.rejectedPerSecond, rows[2]!.droppedPerSecond], [2, 1]);
  });

  it('a counter that went down (rules recreated) counts from 0', () => {
    assert.equal(topRows([s('web', 'packets', 500)], [s('web', 'packets', 30)], 1)[0]!.packetsPerSecond, 30);
  });

  it('prints a kubectl-top-like table', () => {
    const text = formatTop(topRows([], [s('web', 'packets', 30)], 1), 10);
    assert.match(text, /^NAMESPACE\s+SERVICE\s+PORT\s+PACKETS\/S/);
    assert.match(text, /shop\s+web\s+80\/TCP\s+30\s+0/);
  });
});
