// The nftables traffic-counter reader: the listings it asks for, and how element
// counters become per-Service-port samples (recorded in the shape nft 1.0.6 prints).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNftCounters, readNftCounters } from '../../../src/backends/nftables/counters.js';
import type { TrafficSample } from '../../../src/backends/traffic.js';
import { FakeExec } from '../../../src/exec/fake.js';

const counter = (packets: number, bytes: number) => ({ packets, bytes });
const elem = (val: unknown, comment: string | undefined, c: { packets: number; bytes: number }) => ({ elem: { val, ...(comment ? { comment } : {}), counter: c } });

const SETS = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', json_schema_version: 1 } },
    {
      set: {
        family: 'ip', name: 'service-traffic', table: 'svcplane', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: 9, stmt: [{ counter: null }],
        elem: [
          elem({ concat: ['10.96.0.10', 'tcp', 80] }, 'shop/web:80/TCP', counter(70, 5000)),
          elem({ concat: ['192.168.50.100', 'tcp', 80] }, 'shop/web:80/TCP', counter(30, 1000)),
          elem({ concat: ['10.96.0.11', 'udp', 53] }, 'shop/dns:53/UDP', counter(0, 0)),
          elem({ concat: ['10.96.0.12', 'tcp', 8080] }, 'shop/empty:8080/TCP', counter(0, 0)),
        ],
      },
    },
    { set: { family: 'ip', name: 'nodeport-traffic', table: 'svcplane', type: ['inet_proto', 'inet_service'], stmt: [{ counter: null }], elem: [elem({ concat: ['tcp', 30080] }, 'shop/web:80/TCP', counter(12, 900))] } },
    { set: { family: 'ip', name: 'firewall-ips', table: 'svcplane', type: ['ipv4_addr', 'inet_proto', 'inet_service'], stmt: [{ counter: null }], elem: [elem({ concat: ['192.168.50.100', 'tcp', 80] }, 'shop/web:80/TCP', counter(4, 240))] } },
    // Someone else's table with the same set name: not ours, not counted.
    { set: { family: 'ip', name: 'service-traffic', table: 'kube-proxy', type: ['ipv4_addr', 'inet_proto', 'inet_service'], elem: [elem({ concat: ['10.96.0.99', 'tcp', 80] }, 'x/y:80/TCP', counter(5, 5))] } },
  ],
});

const MAPS = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', json_schema_version: 1 } },
    {
      map: {
        family: 'ip', name: 'service-ips', table: 'svcplane-03', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict', stmt: [{ counter: null }],
        elem: [
          [elem({ concat: ['10.96.0.10', 'tcp', 80] }, 'shop/web:http cluster IP', counter(6, 360)), { goto: { target: 'svc-shop/web/tcp/80' } }],
          [elem({ concat: ['192.168.50.100', 'tcp', 80] }, 'shop/web:http load balancer IP', counter(2, 120)), { goto: { target: 'ext-shop/web/tcp/80' } }],
        ],
      },
    },
    { map: { family: 'ip', name: 'service-nodeports', table: 'svcplane-03', type: ['inet_proto', 'inet_service'], map: 'verdict', stmt: [{ counter: null }], elem: [[elem({ concat: ['tcp', 30080] }, 'shop/web:http node port', counter(3, 180)), { goto: { target: 'ext-shop/web/tcp/80' } }]] } },
    {
      map: {
        family: 'ip', name: 'no-endpoint-services', table: 'svcplane', type: ['ipv4_addr', 'inet_proto', 'inet_service'], map: 'verdict', stmt: [{ counter: null }],
        elem: [
          [elem({ concat: ['10.96.0.12', 'tcp', 8080] }, 'shop/empty:8080/TCP cluster IP has no endpoints', counter(9, 540)), { goto: { target: 'reject-chain' } }],
          [elem({ concat: ['10.96.0.11', 'udp', 53] }, 'shop/dns:53/UDP cluster IP has no endpoints', counter(1, 60)), { drop: null }],
        ],
      },
    },
  ],
});

const byKind = (samples: TrafficSample[]) =>
  Object.fromEntries(samples.map((s) => [`${s.kind} ${s.namespace}/${s.service}:${s.port}/${s.protocol}${s.reason ? ` ${s.reason}` : ''}`, s.value]));

describe('nftables traffic counters', () => {
  it('sums a Service port over its addresses and node port, and names refusals by verdict', () => {
    assert.deepEqual(byKind(parseNftCounters(SETS, MAPS)), {
      'packets shop/web:80/TCP': 112,
      'bytes shop/web:80/TCP': 6900,
      'packets shop/dns:53/UDP': 0,
      'bytes shop/dns:53/UDP': 0,
      'packets shop/empty:8080/TCP': 0,
      'bytes shop/empty:8080/TCP': 0,
      'dropped_packets shop/web:80/TCP source_range': 4,
      'new_connections shop/web:80/TCP': 11,
      'rejected_packets shop/empty:8080/TCP no_endpoints': 9,
      'dropped_packets shop/dns:53/UDP no_local_endpoint': 1,
    });
  });

  it('ignores tables of others and sets without counters (rendered before them)', () => {
    const old = JSON.stringify({ nftables: [{ set: { family: 'ip', name: 'service-traffic', table: 'svcplane', type: 'x', elem: [{ elem: { val: { concat: ['10.96.0.10', 'tcp', 80] }, comment: 'shop/web:80/TCP' } }] } }] });
    assert.deepEqual(parseNftCounters(old, '{"nftables": []}'), []);
  });

  it('asks nft for the sets and maps listings only, in the given namespace', async () => {
    const exec = new FakeExec().on('nft', ['-j', 'list', 'sets'], { stdout: SETS }).on('nft', ['-j', 'list', 'maps'], { stdout: MAPS });
    const samples = await readNftCounters(exec, 'svp-test-node');
    assert.equal(samples.length, 10);
    assert.deepEqual(exec.lines().sort(), ['ip netns exec svp-test-node nft -j list maps', 'ip netns exec svp-test-node nft -j list sets']);
  });

  it('a failing listing is an error naming the command', async () => {
    const exec = new FakeExec().on('nft', ['-j', 'list'], { exitCode: 1, stderr: 'Operation not permitted' });
    await assert.rejects(readNftCounters(exec), /nft -j list (sets|maps) exited 1: Operation not permitted/);
  });
});
