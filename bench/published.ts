// kube-proxy's published figures, with their sources, for the report's comparison.
// Each names the scenario of ours closest to it. Figures are quoted as published;
// the machines differ (theirs are much larger than this 2-core VM), so only orders of
// magnitude compare.

export interface Published {
  what: string;
  figure: string;
  /** Where the figure comes from (link). */
  source: string;
  sourceTitle: string;
  /** The scenario id of ours that corresponds, and which of our measurements. */
  scenario?: string;
  ours: 'serviceAdd' | 'fullSync' | 'iptPartial' | 'firstPacket';
}

export const PUBLISHED: readonly Published[] = [
  {
    what: 'nftables mode: one Service added with 10k Services present (10k × 2 endpoints, kind cluster)',
    figure: '~141 ms (with partial sync; ~8 min before it)',
    source: 'https://github.com/kubernetes/kubernetes/pull/126013',
    sourceTitle: 'kubernetes/kubernetes#126013 "[kube-proxy: nftables] Implement partial sync"',
    scenario: '10kx10',
    ours: 'serviceAdd',
  },
  {
    what: 'nftables mode: full sync at 44,125 Services / 44,152 endpoints (v1.36.1)',
    figure: '16 min 43.9 s ("SyncProxyRules complete … elapsed=16m43.895s")',
    source: 'https://github.com/kubernetes/kubernetes/issues/139513',
    sourceTitle: 'kubernetes/kubernetes#139513 "kube-proxy nftables: sync time grows super-linearly with Service count"',
    scenario: '44kx1',
    ours: 'fullSync',
  },
  {
    what: 'nftables mode: sync at 5,006 Services / 250,011 endpoints (m6i.8xlarge, 32 vCPU, kernel 6.1.144)',
    figure: '13 min 15.3 s ("elapsed=13m15.342s")',
    source: 'https://github.com/kubernetes/kubernetes/issues/135639',
    sourceTitle: 'kubernetes/kubernetes#135639 "kube-proxy improvement needed when it is about mode: nftables"',
    scenario: '5kx50',
    ours: 'fullSync',
  },
  {
    what: 'iptables mode: partial sync (MinimizeIPTablesRestore, default since v1.27) — only changed Services\' chains are restored',
    figure: 'no single figure published: the KEP and PR describe the restore input shrinking from every chain to the changed ones',
    source: 'https://github.com/kubernetes/kubernetes/pull/110268',
    sourceTitle: 'kubernetes/kubernetes#110268 "minimize iptables-restore input" (KEP-3453)',
    scenario: '10kx10',
    ours: 'iptPartial',
  },
  {
    what: 'first-packet latency, iptables against nftables mode, as the Service count grows',
    figure: 'graphs only (p01/p50/p99): iptables grows with the Service count, nftables stays flat; no numbers in the text',
    source: 'https://kubernetes.io/blog/2025/02/28/nftables-kube-proxy/',
    sourceTitle: 'kubernetes.io blog, "NFTables mode for kube-proxy", 2025-02-28',
    ours: 'firstPacket',
  },
];
