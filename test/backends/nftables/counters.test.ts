// The nftables traffic-counter reader: the listing it asks for, and how element
// counters become per-Service-port samples, endpoint-traffic elements and DNAT rule counters per-endpoint ones (recorded in the shape nft 1.0.6 prints).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NftCounters, NftCountersReader, parseNftCounters, readNftCounters } from '../../../src/backends/nftables/counters.js';
import { NftListingStream } from '../../../src/backends/nftables/listing-stream.js';
import { sampleKey, type EndpointFilter, type TrafficSample } from '../../../src/backends/traffic.js';
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

// The DNAT rules of `nft -j list ruleset` (sets and maps elided): each endpoint's counter, in the
// cluster, local and session-affinity endpoint chains; a rule of someone else's table; a DNAT
// rule rendered before the counters.
const dnatRule = (family: string, table: string, chain: string, addr: string, port: number, c?: { packets: number; bytes: number }) => ({
  rule: { family, table, chain, handle: 7, comment: `${addr}:${port}`, expr: [{ match: { op: '==', left: { meta: { key: 'l4proto' } }, right: 'tcp' } }, ...(c ? [{ counter: c }] : []), { dnat: { addr, port } }] },
});
const RULES = JSON.stringify({
  nftables: [
    { metainfo: { version: '1.0.6', json_schema_version: 1 } },
    dnatRule('ip', 'svcplane-03', 'svc-shop/web/tcp/80', '10.244.1.5', 8080, counter(4, 240)),
    dnatRule('ip', 'svcplane-03', 'svc-shop/web/tcp/80', '10.244.2.6', 8080, counter(3, 180)),
    // The same endpoint reached through the Local-policy chain: its connections add up.
    dnatRule('ip', 'svcplane-03', 'local-shop/web/tcp/80', '10.244.1.5', 8080, counter(2, 120)),
    dnatRule('ip6', 'svcplane-03', 'ep-shop/web/tcp/80__fd00:244:1::5/8080', 'fd00:244:1::5', 8080, counter(1, 80)),
    dnatRule('ip', 'kube-proxy', 'svc-shop/web/tcp/80', '10.244.9.9', 8080, counter(50, 50)),
    dnatRule('ip', 'svcplane-03', 'svc-shop/old/tcp/80', '10.244.3.3', 8080),
    // A rule with a counter but no DNAT (not an endpoint's).
    { rule: { family: 'ip', table: 'svcplane-03', chain: 'svc-shop/web/tcp/80', expr: [{ counter: counter(8, 8) }, { accept: null }] } },
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

  it('counts new connections per endpoint from the DNAT rules of our endpoint chains, summed over chains', () => {
    const endpoints = parseNftCounters(RULES).filter((x) => x.kind === 'endpoint_new_connections');
    assert.deepEqual(
      Object.fromEntries(endpoints.map((x) => [`${x.namespace}/${x.service}:${x.port}/${x.protocol} ${x.endpoint}`, x.value])),
      { 'shop/web:80/TCP 10.244.1.5:8080': 6, 'shop/web:80/TCP 10.244.2.6:8080': 3, 'shop/web:80/TCP [fd00:244:1::5]:8080': 1 },
    );
    assert.equal(parseNftCounters(RULES).length, endpoints.length, 'rules give per-endpoint samples only');
  });

  it('counts packets and bytes per endpoint from endpoint-traffic and nodeport-endpoint-traffic, fresh at every read', async () => {
    const listing = (n: number) => JSON.stringify({
      nftables: [
        {
          set: {
            family: 'ip', name: 'endpoint-traffic', table: 'svcplane', type: ['ipv4_addr', 'inet_proto', 'inet_service', 'ipv4_addr', 'inet_service'], stmt: [{ counter: null }],
            elem: [
              elem({ concat: ['10.96.0.10', 'tcp', 80, '10.244.1.5', 8080] }, 'shop/web:80/TCP', counter(n, 100 * n)),
              elem({ concat: ['192.168.50.100', 'tcp', 80, '10.244.1.5', 8080] }, 'shop/web:80/TCP', counter(2, 200)),
              elem({ concat: ['10.96.0.10', 'tcp', 80, '10.244.2.6', 8080] }, 'shop/web:80/TCP', counter(4, 400)),
            ],
          },
        },
        { set: { family: 'ip', name: 'nodeport-endpoint-traffic', table: 'svcplane', type: ['inet_proto', 'inet_service', 'ipv4_addr', 'inet_service'], stmt: [{ counter: null }], elem: [elem({ concat: ['tcp', 30080, '10.244.2.6', 8080] }, 'shop/web:80/TCP', counter(1, 60))] } },
        { set: { family: 'ip6', name: 'endpoint-traffic', table: 'svcplane', type: ['ipv6_addr', 'inet_proto', 'inet_service', 'ipv6_addr', 'inet_service'], stmt: [{ counter: null }], elem: [elem({ concat: ['fd00:96::10', 'tcp', 80, 'fd00:244:1::5', 8080] }, 'shop/web:80/TCP', counter(3, 300))] } },
      ],
    });
    const perEndpoint = (samples: TrafficSample[]) => Object.fromEntries(samples.filter((x) => x.kind === 'endpoint_packets' || x.kind === 'endpoint_bytes').map((x) => [`${x.kind} ${x.endpoint}`, x.value]));
    assert.deepEqual(perEndpoint(parseNftCounters(listing(10))), {
      'endpoint_packets 10.244.1.5:8080': 12, 'endpoint_bytes 10.244.1.5:8080': 1200,
      'endpoint_packets 10.244.2.6:8080': 5, 'endpoint_bytes 10.244.2.6:8080': 460,
      'endpoint_packets [fd00:244:1::5]:8080': 3, 'endpoint_bytes [fd00:244:1::5]:8080': 300,
    });
    // The agent's reader caches the rules' per-endpoint counts, not these: a second read within the interval sees them move, once each.
    let n = 10;
    const exec = new FakeExec()
      .on('nft', ['-j', 'list', 'table'], { exitCode: 1, stderr: 'Error: No such file or directory' })
      .on('nft', ['-j', 'list', 'maps'], { stdout: '{"nftables": []}' });
    exec.on('nft', ['-j', 'list', 'sets'], () => ({ stdout: listing(n) }));
    exec.on('nft', ['-j', 'list', 'table', 'ip', 'svcplane'], () => ({ stdout: listing(n) }));
    const reader = new NftCountersReader(60_000, () => 0);
    await reader.read(exec);
    n = 20;
    const second = await reader.read(exec);
    assert.equal(perEndpoint(second)['endpoint_packets 10.244.1.5:8080'], 22);
    assert.equal(second.length, new Set(second.map(sampleKey)).size, 'no series twice');
  });

  it('an endpoint set of 100k elements (10k Services × 10): every endpoint counted, no stack overflow', () => {
    const n = 100_000;
    const elems = Array.from({ length: n }, (_, i) => elem({ concat: ['10.96.0.10', 'tcp', 80, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 8080] }, 'shop/web:80/TCP', counter(1, 10)));
    const listing = JSON.stringify({ nftables: [{ set: { family: 'ip', name: 'endpoint-traffic', table: 'svcplane', stmt: [{ counter: null }], elem: elems } }] });
    const samples = parseNftCounters(listing);
    assert.equal(samples.filter((x) => x.kind === 'endpoint_packets').length, n);
    assert.equal(samples.filter((x) => x.kind === 'endpoint_bytes').length, n);
  });

  it('ignores tables of others and sets without counters (rendered before them)', () => {
    const old = JSON.stringify({ nftables: [{ set: { family: 'ip', name: 'service-traffic', table: 'svcplane', type: 'x', elem: [{ elem: { val: { concat: ['10.96.0.10', 'tcp', 80] }, comment: 'shop/web:80/TCP' } }] } }] });
    assert.deepEqual(parseNftCounters(old, '{"nftables": []}'), []);
  });

  it('lists each table of ours in the given namespace (not the ruleset); a table that does not exist is skipped', async () => {
    // Each test listing spread over the tables it names (as nft lists one table).
    const tableDoc = (family: string, table: string) =>
      JSON.stringify({ nftables: [SETS, MAPS, RULES].flatMap((p) => (JSON.parse(p) as { nftables: Record<string, { family?: string; table?: string }>[] }).nftables).filter((o) => Object.values(o)[0]?.family === family && Object.values(o)[0]?.table === table) });
    const exec = new FakeExec().on('nft', ['-j', 'list', 'table'], { exitCode: 1, stderr: 'Error: No such file or directory' });
    for (const [family, table] of [['ip', 'svcplane'], ['ip', 'svcplane-03'], ['ip6', 'svcplane-03']]) exec.on('nft', ['-j', 'list', 'table', family!, table!], { stdout: tableDoc(family!, table!) });
    const samples = await readNftCounters(exec, 'svp-test-node');
    assert.deepEqual(samples.sort((a, b) => sampleKey(a).localeCompare(sampleKey(b))), parseNftCounters(SETS, MAPS, RULES).sort((a, b) => sampleKey(a).localeCompare(sampleKey(b))));
    assert.equal(samples.length, 13);
    assert.equal(exec.lines().length, 34, 'main and 16 shards, both families');
    assert.ok(exec.lines().every((l) => l.startsWith('ip netns exec svp-test-node nft -j list table ')), exec.lines().join('\n'));
  });

  it('the agent reader lists rules (per-endpoint counts) at most once per interval; sets and maps at every read', async () => {
    const tableDoc = (family: string, table: string) =>
      JSON.stringify({ nftables: [SETS, MAPS, RULES].flatMap((p) => (JSON.parse(p) as { nftables: Record<string, { family?: string; table?: string }>[] }).nftables).filter((o) => Object.values(o)[0]?.family === family && Object.values(o)[0]?.table === table) });
    const exec = new FakeExec()
      .on('nft', ['-j', 'list', 'table'], { exitCode: 1, stderr: 'Error: No such file or directory' })
      .on('nft', ['-j', 'list', 'sets'], { stdout: SETS })
      .on('nft', ['-j', 'list', 'maps'], { stdout: MAPS });
    for (const [family, table] of [['ip', 'svcplane'], ['ip', 'svcplane-03'], ['ip6', 'svcplane-03']]) exec.on('nft', ['-j', 'list', 'table', family!, table!], { stdout: tableDoc(family!, table!) });
    let clock = 0;
    const reader = new NftCountersReader(60_000, () => clock);
    const sorted = (x: TrafficSample[]) => [...x].sort((a, b) => sampleKey(a).localeCompare(sampleKey(b)));
    const whole = sorted(parseNftCounters(SETS, MAPS, RULES));
    const tableLists = () => exec.lines().filter((l) => l.includes(' list table ')).length;

    assert.deepEqual(sorted(await reader.read(exec)), whole, 'first read: every table, rules included');
    assert.equal(tableLists(), 34);
    clock = 59_000;
    assert.deepEqual(sorted(await reader.read(exec)), whole, 'within the interval: per-Service from sets and maps, per-endpoint reused');
    assert.equal(tableLists(), 34, 'no rules listed within the interval');
    assert.deepEqual(exec.lines().slice(-2).sort(), ['nft -j list maps', 'nft -j list sets']);
    clock = 60_000;
    await reader.read(exec);
    assert.equal(tableLists(), 68, 'the interval over: the rules listed again');
    await reader.read(exec, 'svp-other');
    assert.ok(exec.lines().at(-1)!.startsWith('ip netns exec svp-other nft -j list table '), 'another namespace never reuses this one\'s counts');
  });

  it('a failing listing is an error naming the command', async () => {
    const exec = new FakeExec().on('nft', ['-j', 'list'], { exitCode: 1, stderr: 'Operation not permitted' });
    await assert.rejects(readNftCounters(exec), /nft -j list table ip6? svcplane\S* exited 1: Operation not permitted/);
  });

  it('the maps before the sets that name their addresses (any listing order) count the same', () => {
    const sorted = (x: TrafficSample[]) => [...x].sort((a, b) => sampleKey(a).localeCompare(sampleKey(b)));
    assert.deepEqual(sorted(parseNftCounters(MAPS, RULES, SETS)), sorted(parseNftCounters(SETS, MAPS, RULES)));
    assert.ok(parseNftCounters(MAPS, SETS).some((x) => x.kind === 'new_connections'));
  });

  it('with an endpoint filter, per-endpoint samples of its endpoints only, from sets and rules alike', () => {
    const sets = JSON.stringify({
      nftables: [{
        set: {
          family: 'ip', name: 'endpoint-traffic', table: 'svcplane', stmt: [{ counter: null }],
          elem: [
            elem({ concat: ['10.96.0.10', 'tcp', 80, '10.244.1.5', 8080] }, 'shop/web:80/TCP', counter(3, 300)),
            elem({ concat: ['10.96.0.10', 'tcp', 80, '10.244.2.6', 8080] }, 'shop/web:80/TCP', counter(4, 400)),
          ],
        },
      }],
    });
    const filter: EndpointFilter = { has: (ns, svc, ep) => ns === 'shop' && svc === 'web' && ep === '10.244.2.6:8080' };
    const c = new NftCounters(filter);
    for (const text of [SETS, MAPS, RULES, sets]) {
      const stream = new NftListingStream(c);
      stream.push(text);
      stream.end();
    }
    const got = c.samples();
    const all = parseNftCounters(SETS, MAPS, RULES, sets);
    assert.deepEqual(got.filter((x) => x.endpoint).map((x) => `${x.kind} ${x.endpoint} ${x.value}`).sort(), ['endpoint_bytes 10.244.2.6:8080 400', 'endpoint_new_connections 10.244.2.6:8080 3', 'endpoint_packets 10.244.2.6:8080 4']);
    assert.equal(got.filter((x) => !x.endpoint).length, all.filter((x) => !x.endpoint).length, 'every Service-level sample');
    assert.ok(all.filter((x) => x.endpoint).length > 3);
  });
});
