// deploy/grafana/svcplane.json (issue 18 §5): every metric a panel queries is one the
// agent exports, with the right series suffixes (_bucket only on histograms), every
// panel says what it answers and is documented in README.md.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Registry } from '../../src/agent/prom/index.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import { registerTrafficMetrics } from '../../src/agent/traffic-metrics.js';

const DASHBOARD = 'deploy/grafana/svcplane.json';
interface Target { expr: string }
interface Panel { type: string; title: string; description?: string; targets?: Target[]; panels?: Panel[] }

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[]; templating: { list: Array<{ query?: unknown; definition?: string }> } };
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');

/** Series names the agent exports, with every backend's registration and the process metrics. */
async function exportedSeries(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const backend of ['nftables', 'iptables', 'ipvs', 'userspace']) {
    for (const m of await createAgentMetrics({ backend, processMetrics: true }).registry.getMetricsAsJSON()) {
      const type = String(m.type);
      out.set(m.name, type);
      if (type === 'histogram') for (const s of ['_bucket', '_count', '_sum']) out.set(m.name + s, 'histogram series');
    }
  }
  // The per-Service traffic metrics (issue 18 §2), registered as the agent registers them.
  const traffic = new Registry();
  registerTrafficMetrics(traffic, { read: async () => [] });
  for (const m of await traffic.getMetricsAsJSON()) out.set(m.name, String(m.type));
  return out;
}

/** Metric names in a PromQL expression: identifiers followed by a selector `{` or a range `[`. */
function metricNames(expr: string): string[] {
  const names = [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*[{[]/g)].map((m) => m[1]!);
  // by (...) / without (...) lists and functions are followed by '(' and never match.
  return names.filter((n) => !['by', 'without', 'on', 'ignoring'].includes(n));
}

test('every metric the dashboard queries is exported by the agent (a panel on a metric nobody exports fails here)', async () => {
  const exported = await exportedSeries();
  const queries = [
    ...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
    ...dashboard.templating.list.filter((v) => v.definition).map((v) => ({ where: 'variable', expr: v.definition! })),
  ];
  assert.ok(queries.length > 20);
  const used = new Set<string>();
  for (const { where, expr } of queries) {
    const names = [...metricNames(expr), ...[...expr.matchAll(/label_values\(([a-zA-Z_:][a-zA-Z0-9_:]*)/g)].map((m) => m[1]!)];
    assert.ok(names.length > 0, `${where}: no metric found in ${expr}`);
    for (const n of names) {
      assert.ok(exported.has(n), `${where} queries ${n}, which the agent does not export`);
      if (/histogram_quantile/.test(expr) && n.endsWith('_bucket')) assert.equal(exported.get(n), 'histogram series');
      used.add(n.replace(/_(bucket|count|sum)$/, ''));
    }
  }
  // What issue 18 §5 asks the dashboard to show.
  for (const n of [
    'kubeproxy_sync_proxy_rules_duration_seconds',
    'kubeproxy_network_programming_duration_seconds',
    'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
    'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
    'svcplane_malformed_objects_total',
    'kubeproxy_sync_proxy_rules_iptables_total',
    'kubeproxy_proxy_healthz_total',
    'svcplane_plan_info',
    // Every per-Service and per-endpoint traffic counter.
    ...[...exported.keys()].filter((n) => /^svcplane_(service|endpoint)_.*_total$/.test(n)),
  ]) assert.ok(used.has(n), `no panel shows ${n}`);
});

test('the checker itself refuses an unknown metric and a _bucket of a counter', async () => {
  const exported = await exportedSeries();
  assert.deepEqual(metricNames('rate(kubeproxy_sync_proxy_rules_typo_total{instance=~"$instance"}[5m])'), ['kubeproxy_sync_proxy_rules_typo_total']);
  assert.equal(exported.has('kubeproxy_sync_proxy_rules_typo_total'), false);
  assert.equal(exported.has('svcplane_service_packets_total_bucket'), false);
  assert.equal(exported.get('kubeproxy_sync_proxy_rules_duration_seconds_bucket'), 'histogram series');
});

test('every panel says what it answers and is listed in README.md', () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const p of panels) {
    assert.ok((p.description ?? '').length > 20, `panel "${p.title}" has no description`);
    assert.ok(readme.includes(p.title), `panel "${p.title}" is not in README.md`);
  }
});
