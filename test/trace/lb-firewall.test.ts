// The loadBalancerSourceRanges firewall's implicit allowances, traced through each
// backend's rendered rules (src/backends/lb-firewall.ts has the decision): the
// ranges pass; the LB IP as a source passes only when a range holds the node's
// primary address (kube-proxy's allowFromNode); the node's own connections pass only
// when a range holds the address they leave from. One table for the three backends:
// they agree here, so a row has one answer. The real-traffic proofs are
// test/e2e/lb-firewall.test.ts (nftables, iptables) and
// test/e2e/ipvs-lb-firewall-vm.test.ts (IPVS, in a VM).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allowsLoadBalancerIPSources, firewallSources } from '../../src/backends/lb-firewall.js';
import { servicePortViews } from '../../src/model/service-ports.js';
import type { RenderInput } from '../../src/model/render-input.js';
import { traceRendered } from '../../src/trace/index.js';
import type { TraceVerdict } from '../../src/backends/trace-result.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';

const LB = '203.0.113.40';
const NODE = '192.168.50.1'; // NODE1's primary IPv4 address (test/helpers/model.ts)
const NODE_SECOND = '192.168.70.1'; // another address of the node, outside every range
const OUTSIDE = '192.0.2.99';
const IN_RANGE = '198.51.100.7';
const ENDPOINT = '10.244.2.40:8080';

/** A Cluster-policy LB Service with one endpoint elsewhere; `ranges` decide the firewall. */
function lbInput(ranges: string[]): RenderInput {
  const s = svc({
    name: 'fw', type: 'LoadBalancer', clusterIPs: ['10.96.0.40'], ports: [port(80, 8080, { nodePort: 30040 })],
    loadBalancerIngress: [{ ip: LB, ipMode: 'VIP' }], loadBalancerSourceRanges: ranges,
  });
  const base = input([s], [slice('fw', [ep('10.244.2.40', 'node2')], [{ port: 8080 }])]);
  return { ...base, node: { ...base.node, addresses: [NODE, NODE_SECOND, ...base.node.addresses.slice(1)] } };
}

const NODE_OUTSIDE = lbInput(['198.51.100.0/24']);
const NODE_INSIDE = lbInput(['198.51.100.0/24', '192.168.50.0/24']);

interface Row {
  readonly name: string;
  readonly input: RenderInput;
  readonly src: string;
  readonly verdict: TraceVerdict;
}

const ROWS: readonly Row[] = [
  { name: 'a source outside every range is dropped', input: NODE_OUTSIDE, src: OUTSIDE, verdict: 'drop' },
  { name: 'a source inside a range reaches the endpoint', input: NODE_OUTSIDE, src: IN_RANGE, verdict: 'dnat' },
  { name: 'the LB IP as source, no range holds the node: dropped', input: NODE_OUTSIDE, src: LB, verdict: 'drop' },
  { name: 'the LB IP as source, a range holds the node: accepted', input: NODE_INSIDE, src: LB, verdict: 'dnat' },
  { name: 'the node itself, outside every range: dropped (no implicit node allowance)', input: NODE_OUTSIDE, src: NODE, verdict: 'drop' },
  { name: 'the node itself, inside a range: accepted', input: NODE_INSIDE, src: NODE, verdict: 'dnat' },
  { name: 'the node from another address of its own, outside every range: dropped', input: NODE_INSIDE, src: NODE_SECOND, verdict: 'drop' },
  { name: 'a source outside every range stays dropped when a range holds the node', input: NODE_INSIDE, src: OUTSIDE, verdict: 'drop' },
];

for (const backend of ['nftables', 'iptables', 'ipvs'] as const) {
  describe(`LB firewall implicit allowances: ${backend}`, () => {
    for (const row of ROWS) {
      it(row.name, () => {
        const r = traceRendered(backend, row.input, { src: row.src, dst: LB, dport: 80, proto: 'tcp' });
        const msg = `${backend} ${row.src} -> ${LB}:80\n${r.path.join('\n')}`;
        assert.equal(r.verdict, row.verdict, msg);
        assert.deepEqual(r.endpoints, row.verdict === 'dnat' ? [ENDPOINT] : [], msg);
      });
    }
  });
}

describe('LB firewall: the allowed sources (lb-firewall.ts)', () => {
  const view = (inp: RenderInput) => servicePortViews(inp, 'IPv4')[0]!;
  it('the ranges alone when no range holds the node', () => {
    assert.equal(allowsLoadBalancerIPSources(view(NODE_OUTSIDE), NODE), false);
    assert.deepEqual(firewallSources(view(NODE_OUTSIDE), NODE), ['198.51.100.0/24']);
  });
  it('the ranges and the LB IPs when one holds the node\'s primary address (not any other of its addresses)', () => {
    assert.deepEqual(firewallSources(view(NODE_INSIDE), NODE), ['198.51.100.0/24', '192.168.50.0/24', LB]);
    assert.equal(allowsLoadBalancerIPSources(view(NODE_INSIDE), NODE_SECOND), false);
  });
  it('no node address known: the ranges alone; no ranges: no firewall', () => {
    assert.deepEqual(firewallSources(view(NODE_INSIDE), ''), ['198.51.100.0/24', '192.168.50.0/24']);
    assert.deepEqual(firewallSources(view(lbInput([])), NODE), []);
  });
});
