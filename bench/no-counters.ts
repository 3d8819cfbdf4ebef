// The nftables ruleset as it was before the traffic counters (issue 18 §2): the same
// tables with no per-element counters, no counting chain or jumps (so no per-Service or
// per-endpoint counted sets) and no counter on the endpoints' DNAT rules (new connections
// per endpoint), for measuring
// what the counters cost the data plane (dataplane.ts, benchCountersCost). Bench only.

import { NFT_NAMES as N } from '../src/backends/nftables/render.js';
import type { NftTable } from '../src/backends/nftables/nft.js';
import { ENDPOINT_TRAFFIC_SETS } from '../src/backends/nftables/endpoint-traffic.js';

const COUNTING_BASE_CHAIN = 'filter-prerouting-post-dnat';
/** The sets only the counting chain uses: per Service and per endpoint. */
const COUNTING_SETS: ReadonlySet<string> = new Set([N.serviceTraffic, N.nodePortTraffic, ...Object.values(ENDPOINT_TRAFFIC_SETS)]);

export function withoutTrafficCounters(tables: readonly NftTable[]): NftTable[] {
  const jumpsToCounting = (expr: readonly Record<string, unknown>[]) => expr.some((e) => (e.jump as { target?: string } | undefined)?.target === N.countTraffic);
  return tables.map((t) => ({
    ...t,
    sets: t.sets.filter((s) => !COUNTING_SETS.has(s.name)).map(({ counter: _c, ...s }) => s),
    chains: t.chains
      .filter((c) => c.name !== N.countTraffic && c.name !== COUNTING_BASE_CHAIN)
      .map((c) => ({ ...c, rules: c.rules.filter((r) => !jumpsToCounting(r.expr)).map((r) => ({ ...r, expr: r.expr.filter((e) => !('counter' in e)) })) })),
  }));
}
