// kube-proxy's localhost NodePort count (kubeproxy_iptables_localhost_nodeports_accepted_packets_total)
// from our render: where NodePorts answer on 127.0.0.1, each node port with endpoints gets a
// `-d 127.0.0.0/8` rule of its own ahead of its general rule, to the same chain, only to be
// counted (kube-proxy v1.35 does the same with an nfacct match); the count reads 0 there
// before any traffic and is absent where localhost node ports are not served.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { iptablesBackend } from '../../../src/backends/iptables/index.js';
import { parseKubeProxyRuleCounters } from '../../../src/backends/iptables/kube-proxy-counters.js';
import { features } from '../../helpers/features.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

/** The rendered rules as `iptables-save -c` prints them before any packet. */
const asSaved = (doc: string) => doc.split('\n').map((l) => (l.startsWith('-A ') ? `[0:0] ${l}` : l)).join('\n');
const nodePortRules = (doc: string) => doc.split('\n').filter((l) => l.startsWith('-A SVP-NODEPORTS ') && l.includes('--dport 30081'));

describe('iptables: localhost node ports counted apart', () => {
  it('served on 127.0.0.1: one counted rule per node port, ahead of the general one, to the same chain, IPv4 only', () => {
    const doc = iptablesBackend.render(features['nodeport-all-addresses-localhost']!);
    const rules = nodePortRules(doc);
    // IPv4: localhost + general (its IPv6 side has no endpoints: no node port rule there).
    assert.equal(rules.length, 2, rules.join('\n'));
    assert.match(rules[0]!, /^-A SVP-NODEPORTS -d 127\.0\.0\.0\/8 -p tcp .*--dport 30081 -j (SVP-EXT-\S+)$/);
    assert.equal(rules[0]!.replace(' -d 127.0.0.0/8', ''), rules[1], 'the same rule without the destination: same chain');
    // With endpoints in both families: IPv6 gets its general rule only (IPv6 never serves ::1).
    const dual = input(
      [svc({ name: 'np', type: 'NodePort', clusterIPs: ['10.96.0.21', 'fd00:10:96::21'], ports: [port(80, 8080, { nodePort: 30081 })] })],
      [slice('np', [ep('10.244.1.10', 'node1')], [{ port: 8080 }]), slice('np', [ep('fd00:244:1::10', 'node1')], [{ port: 8080 }], { addressType: 'IPv6' })],
      { config: { nodePortAddresses: ['0.0.0.0/0', '::/0'], localhostNodePorts: true } },
    );
    const both = nodePortRules(iptablesBackend.render(dual));
    assert.equal(both.length, 3, both.join('\n'));
    assert.equal(both.filter((l) => l.includes(' -d 127.0.0.0/8 ')).length, 1);
    assert.deepEqual(parseKubeProxyRuleCounters(asSaved(doc)), { invalidDropped: 0, localhostNodePortsAccepted: 0 });
  });

  it('not served on 127.0.0.1 (localhostNodePorts off, or node ports on some addresses only): no such rule, no count', () => {
    for (const name of ['nodeport-all-addresses-no-localhost', 'nodeport'] as const) {
      const doc = iptablesBackend.render(features[name]!);
      assert.ok(!doc.split('\n').some((l) => l.startsWith('-A SVP-NODEPORTS -d 127.')), name);
      assert.equal(parseKubeProxyRuleCounters(asSaved(doc)).localhostNodePortsAccepted, undefined, name);
    }
  });

  it('a node port without endpoints has no counted rule (nothing is accepted), and the count still reads 0 where they are served', () => {
    const inp = input([svc({ name: 'np', type: 'NodePort', clusterIPs: ['10.96.0.21'], ports: [port(80, 8080, { nodePort: 30081 })] })], [], {
      config: { nodePortAddresses: ['0.0.0.0/0'], localhostNodePorts: true },
    });
    const doc = iptablesBackend.render(inp);
    assert.deepEqual(nodePortRules(doc), []);
    assert.equal(parseKubeProxyRuleCounters(asSaved(doc)).localhostNodePortsAccepted, 0);
  });

  it('the count is the counted rules\' packets (nat: one per connection)', () => {
    const saved = '[4:240] -A SVP-NODEPORTS -d 127.0.0.0/8 -p tcp -m comment --comment "default/np:80/TCP" -m tcp --dport 30081 -j SVP-EXT-X\n'
      + '[9:540] -A SVP-NODEPORTS -p tcp -m comment --comment "default/np:80/TCP" -m tcp --dport 30081 -j SVP-EXT-X\n'
      + '[7:420] -A SVP-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP\n';
    assert.equal(parseKubeProxyRuleCounters(saved).localhostNodePortsAccepted, 4, 'the guard\'s drops are not accepts');
  });
});
