// IPVS traffic statistics: `ipvsadm -Ln --stats --exact` as the VM's kernel (Debian
// 6.1, ipvsadm 1.31) printed it after 3 TCP connections to 10.96.0.10:80 (captured
// with test/vm; the FWM service is added by hand: firewall-mark services are never
// ours), parsed and named after the Service ports of a render input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseIpvsStats } from '../../../src/backends/ipvs/stats.js';
import { ipvsTrafficSamples, readIpvsTraffic, virtualServerNames } from '../../../src/backends/ipvs/stats-reader.js';
import { renderIpvs } from '../../../src/backends/ipvs/render.js';
import { FakeExec } from '../../../src/exec/fake.js';
import type { PlanService } from '../../../src/model/plan.js';
import { ep, input, port, slice, svc } from '../../helpers/model.js';

const CAPTURED = `IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes
  -> RemoteAddress:Port
TCP  10.96.0.10:80                       3       15       12      804      666
  -> 10.244.1.10:8080                    1        5        4      268      222
  -> 10.244.1.11:8080                    2       10        8      536      444
UDP  10.96.0.10:53                       0        0        0        0        0
  -> 10.244.1.10:5353                    0        0        0        0        0
FWM  7                                   9        9        9        9        9
  -> 10.244.1.99:80                      9        9        9        9        9
SCTP 10.96.0.10:3868                     0        0        0        0        0
TCP  [fd00::10]:443                 4294967296 12345678901 2        3        4
  -> [fd00::20]:8443                     0        0        0        0        0
`;

// The Services that render exactly those virtual servers (and a node port on the node's address).
const web = svc({ name: 'web', namespace: 'shop', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080, { name: 'http' }), port(53, 5353, { name: 'dns', protocol: 'UDP' })], type: 'NodePort' });
const v6 = svc({ name: 'api', namespace: 'shop', clusterIPs: ['fd00::10'], ports: [port(443, 8443)] });
const INPUT = input(
  [{ ...web, ports: web.ports.map((p) => (p.port === 80 ? { ...p, nodePort: 30080 } : p)) }, v6],
  [
    { ...slice('web', [ep('10.244.1.10', 'node1'), ep('10.244.1.11', 'node2')], [{ name: 'http', port: 8080 }, { name: 'dns', port: 5353, protocol: 'UDP' }]), namespace: 'shop' },
    { ...slice('api', [ep('fd00::20', 'node1')], [{ port: 8443 }], { addressType: 'IPv6' }), namespace: 'shop' },
  ],
  { serviceCIDRs: ['10.96.0.0/16', 'fd00::/112'] },
);

const pick = (samples: ReturnType<typeof ipvsTrafficSamples>, service: string, kind: string, endpoint?: string) =>
  samples.find((s) => s.service === service && s.kind === kind && s.endpoint === endpoint)?.value;

describe('IPVS traffic statistics', () => {
  it('parses virtual and real servers, exact counts, IPv6 in brackets; FWM services and their real servers skipped', () => {
    const stats = parseIpvsStats(CAPTURED);
    assert.deepEqual(
      stats.map((v) => `${v.protocol} ${v.ip}:${v.port} ${v.conns}/${v.inPackets}/${v.outPackets}/${v.inBytes}/${v.outBytes} [${v.realServers.map((r) => `${r.address}=${r.conns}`).join(' ')}]`),
      [
        'tcp 10.96.0.10:80 3/15/12/804/666 [10.244.1.10:8080=1 10.244.1.11:8080=2]',
        'udp 10.96.0.10:53 0/0/0/0/0 [10.244.1.10:5353=0]',
        'sctp 10.96.0.10:3868 0/0/0/0/0 []',
        'tcp fd00::10:443 4294967296/12345678901/2/3/4 [[fd00::20]:8443=0]',
      ],
    );
    assert.deepEqual(parseIpvsStats(''), []);
  });

  it('names every virtual server the input renders after its Service port, node ports included', () => {
    const names = virtualServerNames(INPUT);
    assert.deepEqual(names.get('tcp 10.96.0.10:80'), { namespace: 'shop', service: 'web', port: 80, protocol: 'TCP' });
    assert.deepEqual(names.get('udp 10.96.0.10:53'), { namespace: 'shop', service: 'web', port: 53, protocol: 'UDP' });
    assert.deepEqual(names.get('tcp 192.168.50.1:30080'), { namespace: 'shop', service: 'web', port: 80, protocol: 'TCP' });
    assert.deepEqual(names.get('tcp fd00::10:443'), { namespace: 'shop', service: 'api', port: 443, protocol: 'TCP' });
  });

  it('names exactly the virtual servers render makes, each after its own Service port (the example app\'s Services, node ports on every node address)', () => {
    const services = (JSON.parse(readFileSync('dist/rules/plan.json', 'utf8')) as { services: PlanService[] }).services;
    const example = input(services, [], { config: { nodePortAddresses: [] } });
    const names = virtualServerNames(example);
    const rendered = renderIpvs(example).families.flatMap((f) => f.virtualServers);
    assert.ok(rendered.length >= 8 && rendered.some((v) => v.address === '192.168.50.1'), 'ClusterIPs, LB IPs and node ports rendered');
    assert.deepEqual([...names.keys()].sort(), rendered.map((v) => `${v.protocol} ${v.address}:${v.port}`).sort());
    for (const v of rendered) {
      const id = names.get(`${v.protocol} ${v.address}:${v.port}`)!;
      assert.ok(v.service.startsWith(`${id.namespace}/${id.service}:`), `${v.service} named ${JSON.stringify(id)}`);
    }
  });

  it('samples per Service port (in + out) and per endpoint; virtual servers of no Service ignored', () => {
    const samples = ipvsTrafficSamples(parseIpvsStats(CAPTURED), virtualServerNames(INPUT));
    assert.equal(pick(samples, 'web', 'new_connections'), 3);
    assert.equal(pick(samples, 'web', 'packets'), 27);
    assert.equal(pick(samples, 'web', 'bytes'), 1470);
    assert.equal(pick(samples, 'web', 'endpoint_new_connections', '10.244.1.11:8080'), 2);
    assert.equal(pick(samples, 'web', 'endpoint_packets', '10.244.1.10:8080'), 9);
    assert.equal(pick(samples, 'web', 'endpoint_bytes', '10.244.1.11:8080'), 980);
    assert.equal(pick(samples, 'api', 'new_connections'), 4294967296);
    assert.equal(pick(samples, 'api', 'endpoint_packets', '[fd00::20]:8443'), 0);
    assert.ok(!samples.some((s) => s.port === 3868), 'the SCTP virtual server is no Service port of the input');
  });

  it('with an endpoint filter, per-endpoint samples of its real servers only; the Service port\'s own as before', () => {
    const all = ipvsTrafficSamples(parseIpvsStats(CAPTURED), virtualServerNames(INPUT));
    const some = ipvsTrafficSamples(parseIpvsStats(CAPTURED), virtualServerNames(INPUT), { has: (_ns, service, endpoint) => service === 'web' && endpoint === '10.244.1.11:8080' });
    assert.deepEqual([...new Set(some.filter((s) => s.endpoint).map((s) => `${s.service} ${s.endpoint}`))], ['web 10.244.1.11:8080']);
    assert.equal(pick(some, 'web', 'endpoint_bytes', '10.244.1.11:8080'), 980);
    assert.deepEqual(some.filter((s) => !s.endpoint), all.filter((s) => !s.endpoint));
    assert.ok(all.filter((s) => s.endpoint).length > 3);
  });

  it('a Service port served on several addresses adds them up (ClusterIP + node port)', () => {
    const text = `TCP  10.96.0.10:80  3 15 12 804 666\n  -> 10.244.1.10:8080  3 15 12 804 666\nTCP  192.168.50.1:30080  2 10 8 500 400\n  -> 10.244.1.10:8080  2 10 8 500 400\n`;
    const samples = ipvsTrafficSamples(parseIpvsStats(text), virtualServerNames(INPUT));
    assert.equal(pick(samples, 'web', 'new_connections'), 5);
    assert.equal(pick(samples, 'web', 'endpoint_packets', '10.244.1.10:8080'), 45);
  });

  it('reads with ipvsadm -Ln --stats --exact and the counted ipsets (refusals.ts) in the namespace; without an input it names nothing and runs nothing', async () => {
    const exec = new FakeExec();
    exec.on('ipvsadm', ['-Ln', '--stats', '--exact'], { stdout: CAPTURED });
    exec.on('ipset', ['list', '-n'], { stdout: 'SVP-NO-ENDPOINTS\n' });
    exec.on('ipset', ['restore'], { stdout: 'create SVP-NO-ENDPOINTS hash:ip,port family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x1\nadd SVP-NO-ENDPOINTS 10.96.0.10,tcp:80 packets 2 bytes 120\n' });
    const samples = await readIpvsTraffic(exec, 'node1', INPUT);
    assert.equal(pick(samples, 'web', 'new_connections'), 3);
    assert.equal(pick(samples, 'web', 'rejected_packets'), 2);
    assert.deepEqual(exec.commands.map((c) => [c.file, ...c.args, c.netns]).sort(), [['ipset', 'list', '-n', 'node1'], ['ipset', 'restore', 'node1'], ['ipvsadm', '-Ln', '--stats', '--exact', 'node1']]);
    assert.deepEqual(await readIpvsTraffic(exec, 'node1'), []);
    assert.equal(exec.commands.length, 3);
  });
});
