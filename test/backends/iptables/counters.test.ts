// The iptables traffic-counter reader: counters of the rules we already render, as
// `iptables-save -c` prints them (the rule lines below are the renderer's, from dist/).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { IptablesCounters, TrafficSetCounters, parseIptablesCounters, parseTrafficSetCounters, readIptablesCounters } from '../../../src/backends/iptables/counters.js';
import type { EndpointFilter, TrafficSample } from '../../../src/backends/traffic.js';
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

// As `ipset save SET` prints the traffic set (traffic-set.ts); 192.0.2.20:5432 is an endpoint of two Service ports.
const SET4 = `create SVP-ENDPOINT-TRAFFIC hash:ip,port family inet hashsize 1024 maxelem 1048576 counters comment bucketsize 12 initval 0x722c6ef0
add SVP-ENDPOINT-TRAFFIC 192.0.2.20,tcp:5432 packets 10 bytes 1000 comment "shop/orders-db:5432/TCP shop/orders-ro:5432/TCP"
add SVP-ENDPOINT-TRAFFIC 192.0.2.21,tcp:5432 packets 20 bytes 2000 comment "shop/orders-db:5432/TCP"
add OTHER-SET 192.0.2.22,tcp:5432 packets 7 bytes 700 comment "shop/orders-db:5432/TCP"
`;
const SET6 = `create SVP6-ENDPOINT-TRAFFIC hash:ip,port family inet6 hashsize 1024 maxelem 1048576 counters comment bucketsize 12 initval 0x1
add SVP6-ENDPOINT-TRAFFIC fd00::20,tcp:8443 packets 50 bytes 5000 comment "shop/api:443/TCP"
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

  it('read a line at a time, in any order: the rules before the SVP-SERVICES rule that names their port count the same', () => {
    const show = (xs: TrafficSample[]) => xs.map((s) => `${s.kind} ${s.namespace}/${s.service}:${s.port}/${s.protocol}${s.reason ? ` ${s.reason}` : ''}${s.endpoint ? ` ${s.endpoint}` : ''} ${s.value}`).sort();
    const whole = show(parseIptablesCounters(`${FILTER}\n${NAT}`));
    const c = new IptablesCounters();
    // nat's lines backwards (SVP-SERVICES last), filter's after them, as two tools' outputs may interleave.
    for (const line of [...NAT.split('\n').reverse(), ...FILTER.split('\n')]) c.line(line);
    assert.deepEqual(show(c.samples()), whole);
    assert.ok(whole.length > 0);
  });

  it('reads 150k endpoints (more samples than a call takes as arguments) through the tools\' lines', async () => {
    const n = 150_000;
    const ep = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:5432`;
    const nat = ['*nat', '[0:0] -A SVP-SERVICES -d 10.111.40.124/32 -p tcp -m comment --comment "shop/orders-db:postgres cluster IP" -m tcp --dport 5432 -j SVP-SVC-X'];
    for (let i = 0; i < n; i++) nat.push(`[1:60] -A SVP-SEP-E${i} -p tcp -m comment --comment "shop/orders-db:postgres" -j DNAT --to-destination ${ep(i)}`);
    const exec = new FakeExec()
      .on('iptables-save', ['-c', '-t', 'nat'], { stdout: `${nat.join('\n')}\nCOMMIT\n` })
      .on('iptables-save', ['-c', '-t', 'filter'], { stdout: '' })
      .on('ip6tables-save', ['-c'], { stdout: '' })
      .on('ipset', ['save'], { exitCode: 1, stderr: 'The set with the given name does not exist' });
    const samples = await readIptablesCounters(exec);
    assert.equal(samples.filter((x) => x.kind === 'endpoint_new_connections').length, n);
    assert.equal(samples.find((x) => x.kind === 'new_connections')?.value, n);
  });

  it('packets and bytes per endpoint from the traffic set, summed per Service port; a shared endpoint counts for each of its Service ports', () => {
    const got = parseTrafficSetCounters(SET4 + SET6).map((s) => `${s.kind} ${s.namespace}/${s.service}:${s.port}/${s.protocol}${s.endpoint ? ` ${s.endpoint}` : ''} ${s.value}`);
    assert.deepEqual(got.sort(), [
      'bytes shop/api:443/TCP 5000',
      'bytes shop/orders-db:5432/TCP 3000',
      'bytes shop/orders-ro:5432/TCP 1000',
      'endpoint_bytes shop/api:443/TCP [fd00::20]:8443 5000',
      'endpoint_bytes shop/orders-db:5432/TCP 192.0.2.20:5432 1000',
      'endpoint_bytes shop/orders-db:5432/TCP 192.0.2.21:5432 2000',
      'endpoint_bytes shop/orders-ro:5432/TCP 192.0.2.20:5432 1000',
      'endpoint_packets shop/api:443/TCP [fd00::20]:8443 50',
      'endpoint_packets shop/orders-db:5432/TCP 192.0.2.20:5432 10',
      'endpoint_packets shop/orders-db:5432/TCP 192.0.2.21:5432 20',
      'endpoint_packets shop/orders-ro:5432/TCP 192.0.2.20:5432 10',
      'packets shop/api:443/TCP 50',
      'packets shop/orders-db:5432/TCP 30',
      'packets shop/orders-ro:5432/TCP 10',
    ]);
  });

  it('reads filter and nat of both families and the traffic sets, in the namespace', async () => {
    const exec = new FakeExec()
      .on('iptables-save', ['-c', '-t', 'filter'], { stdout: FILTER })
      .on('iptables-save', ['-c', '-t', 'nat'], { stdout: NAT })
      .on('ip6tables-save', ['-c'], { stdout: '' })
      .on('ipset', ['save', 'SVP-ENDPOINT-TRAFFIC'], { stdout: SET4 })
      // No IPv6 set (nothing applied there, or no ipset): no packets, no error.
      .on('ipset', ['save', 'SVP6-ENDPOINT-TRAFFIC'], { exitCode: 1, stderr: 'ipset v7.17: The set with the given name does not exist' });
    const samples = await readIptablesCounters(exec, 'svp-test-node');
    assert.equal(samples.length, 6 + 10);
    assert.equal(samples.find((s) => s.kind === 'packets' && s.service === 'orders-db')?.value, 30);
    assert.deepEqual(exec.lines().sort(), [
      'ip netns exec svp-test-node ip6tables-save -c -t filter',
      'ip netns exec svp-test-node ip6tables-save -c -t nat',
      'ip netns exec svp-test-node ipset save SVP-ENDPOINT-TRAFFIC',
      'ip netns exec svp-test-node ipset save SVP6-ENDPOINT-TRAFFIC',
      'ip netns exec svp-test-node iptables-save -c -t filter',
      'ip netns exec svp-test-node iptables-save -c -t nat',
    ]);
  });

  it('with an endpoint filter, per-endpoint samples of its endpoints only; every Service-level sample as before', async () => {
    // The agent's exported pairs (src/agent/endpoint-series.ts): orders-db's 192.0.2.21 only.
    const asked: string[] = [];
    const filter: EndpointFilter = { has: (ns, svc, ep) => (asked.push(`${ns}/${svc} ${ep}`), ns === 'shop' && svc === 'orders-db' && ep === '192.0.2.21:5432') };
    const exec = new FakeExec()
      .on('iptables-save', ['-c', '-t', 'filter'], { stdout: FILTER })
      .on('iptables-save', ['-c', '-t', 'nat'], { stdout: NAT })
      .on('ip6tables-save', ['-c'], { stdout: '' })
      .on('ipset', ['save', 'SVP-ENDPOINT-TRAFFIC'], { stdout: SET4 })
      .on('ipset', ['save', 'SVP6-ENDPOINT-TRAFFIC'], { stdout: SET6 });
    const show = (xs: TrafficSample[]) => xs.map((s) => `${s.kind} ${s.namespace}/${s.service}:${s.port}/${s.protocol}${s.reason ? ` ${s.reason}` : ''}${s.endpoint ? ` ${s.endpoint}` : ''} ${s.value}`).sort();
    const all = show(await readIptablesCounters(exec));
    const filtered = show(await readIptablesCounters(exec, undefined, filter));
    assert.deepEqual(filtered.filter((x) => x.startsWith('endpoint_')), [
      'endpoint_bytes shop/orders-db:5432/TCP 192.0.2.21:5432 2000',
      'endpoint_new_connections shop/orders-db:5432/TCP 192.0.2.21:5432 5',
      'endpoint_packets shop/orders-db:5432/TCP 192.0.2.21:5432 20',
    ]);
    assert.deepEqual(filtered.filter((x) => !x.startsWith('endpoint_')), all.filter((x) => !x.startsWith('endpoint_')));
    assert.ok(all.filter((x) => x.startsWith('endpoint_')).length > 3);
    // Asked by Service and endpoint, the DNAT rules' Service from their comment (no port there).
    for (const q of ['shop/orders-db 192.0.2.20:5432', 'shop/orders-ro 192.0.2.20:5432', 'shop/api [fd00::20]:8443']) assert.ok(asked.includes(q), q);
  });

  it('the sums keep no part of the tool\'s output: 300 lines, each cut from a 64 kB chunk, keep none of the chunks', () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const rules = new IptablesCounters();
    const set = new TrafficSetCounters();
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 300; i++) {
      // As a LineSplitter gives lines: slices of the pipe's chunk.
      const svc = `shop/orders-service-${i}`;
      const chunk = `${'x'.repeat(65536)}\n[6:360] -A SVP-SEP-C${i} -p tcp -m comment --comment "${svc}:postgres" -j DNAT --to-destination 192.0.2.${i % 250}:5432\n[1:60] -A SVP-SERVICES -d 10.111.40.${i % 250}/32 -p tcp -m comment --comment "${svc}:postgres cluster IP" -m tcp --dport 5432 -j SVP-SVC-X${i}\nadd SVP-ENDPOINT-TRAFFIC 192.0.2.${i % 250},tcp:5432 packets 10 bytes 1000 comment "${svc}:5432/TCP"\n`;
      const lines = chunk.split('\n');
      rules.line(lines[1]!);
      rules.line(lines[2]!);
      set.line(lines[3]!);
    }
    gc();
    const kept = process.memoryUsage().heapUsed - before;
    assert.equal(rules.samples().filter((x) => x.kind === 'new_connections').length, 300);
    assert.equal(set.samples().filter((x) => x.kind === 'packets').length, 300);
    assert.ok(kept < 4e6, `kept ${(kept / 1e6).toFixed(1)} MB (the 300 chunks are 19.7 MB)`);
  });
});

