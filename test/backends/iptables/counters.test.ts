// The iptables traffic-counter reader: counters of the rules we already render, as
// `iptables-save -c` prints them (the rule lines below are the renderer's, from dist/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIptablesCounters, readIptablesCounters } from '../../../src/backends/iptables/counters.js';
import { FakeExec } from '../../../src/exec/fake.js';

const FILTER = `*filter
:SVP-SERVICES - [0:0]
:SVP-EXTERNAL-SERVICES - [0:0]
:SVP-PROXY-FIREWALL - [0:0]
[7:420] -A SVP-SERVICES -d 10.102.124.76/32 -p tcp -m comment --comment "shop/api:https has no endpoints" -m tcp --dport 443 -j REJECT --reject-with icmp-port-unreachable
[2:120] -A SVP-EXTERNAL-SERVICES -p tcp -m comment --comment "shop/api:https has no endpoints" -m addrtype --dst-type LOCAL -m tcp --dport 30827 -j REJECT --reject-with icmp-port-unreachable
[3:180] -A SVP-EXTERNAL-SERVICES -d 192.0.2.100/32 -p tcp -m comment --comment "shop/front:https has no local endpoints" -m tcp --dport 443 -j DROP
[5:300] -A SVP-PROXY-FIREWALL -d 192.0.2.100/32 -p tcp -m comment --comment "shop/front:https traffic not accepted by SVP-FW-ABC" -m tcp --dport 443 -j DROP
[9:9] -A OTHER-CHAIN -m comment --comment "shop/api:https has no endpoints" -j REJECT
COMMIT
`;
const NAT = `*nat
[11:660] -A SVP-SERVICES -d 10.111.40.124/32 -p tcp -m comment --comment "shop/orders-db:postgres cluster IP" -m tcp --dport 5432 -j SVP-SVC-GGWPGV4USFEVQ2KZ
[1:60] -A SVP-SERVICES -d 10.111.40.200/32 -p tcp -m comment --comment "shop/front:https cluster IP" -m tcp --dport 443 -j SVP-SVC-FRONT
[6:360] -A SVP-SVC-GGWPGV4USFEVQ2KZ -m comment --comment "shop/orders-db:postgres -> 192.0.2.20:5432" -m statistic --mode random --probability 0.50000000000 -j SVP-SEP-C5QYCDHDZ4S7F4ZB
[0:0] -A SVP-SEP-C5QYCDHDZ4S7F4ZB -s 192.0.2.20/32 -m comment --comment "shop/orders-db:postgres" -j SVP-MARK-MASQ
[6:360] -A SVP-SEP-C5QYCDHDZ4S7F4ZB -p tcp -m comment --comment "shop/orders-db:postgres" -j DNAT --to-destination 192.0.2.20:5432
[5:300] -A SVP-SEP-WJ7TMECBUYOL7CM3 -p tcp -m comment --comment "shop/orders-db:postgres" -j DNAT --to-destination 192.0.2.21:5432
COMMIT
`;

describe('iptables traffic counters', () => {
  it('new connections from the endpoints\' DNAT rules (per endpoint too), refusals by comment, ports from SVP-SERVICES', () => {
    const got = parseIptablesCounters(`${FILTER}\n${NAT}`).map((s) => `${s.kind} ${s.namespace}/${s.service}:${s.port}/${s.protocol}${s.reason ? ` ${s.reason}` : ''}${s.endpoint ? ` ${s.endpoint}` : ''} ${s.value}`);
    assert.deepEqual(got.sort(), [
      'dropped_packets shop/front:443/TCP no_local_endpoint 3',
      'dropped_packets shop/front:443/TCP source_range 5',
      'endpoint_new_connections shop/orders-db:5432/TCP 192.0.2.20:5432 6',
      'endpoint_new_connections shop/orders-db:5432/TCP 192.0.2.21:5432 5',
      'new_connections shop/orders-db:5432/TCP 11',
      'rejected_packets shop/api:443/TCP no_endpoints 9',
    ]);
  });

  it('reads filter and nat of both families, in the namespace', async () => {
    const exec = new FakeExec()
      .on('iptables-save', ['-c', '-t', 'filter'], { stdout: FILTER })
      .on('iptables-save', ['-c', '-t', 'nat'], { stdout: NAT })
      .on('ip6tables-save', ['-c'], { stdout: '' });
    const samples = await readIptablesCounters(exec, 'svp-test-node');
    assert.equal(samples.length, 6);
    assert.deepEqual(exec.lines().sort(), [
      'ip netns exec svp-test-node ip6tables-save -c -t filter',
      'ip netns exec svp-test-node ip6tables-save -c -t nat',
      'ip netns exec svp-test-node iptables-save -c -t filter',
      'ip netns exec svp-test-node iptables-save -c -t nat',
    ]);
  });
});
