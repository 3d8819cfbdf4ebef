// The agent's IPVS path (src/backends/ipvs/create-syncer.ts createIpvsSyncer -> IpvsSyncer) in a
// real IPVS kernel (qemu VM, test/vm), in ONE process so the syncer's memory carries
// from sync to sync as in `svcplane agent --backend ipvs` (test/e2e/ipvs/syncer-driver.ts,
// bundled with esbuild, on the host's node).
//
//   A  full       web -> pods .10 .11 .12, db -> 10.244.2.11
//   B  increment  web -> .10 .11 .13: only web's real servers and hairpin members sent, nothing read
//   C  increment  db's Service malformed (skipped, preserved), web -> .10 .14: only web's commands;
//                 db's virtual server, real server and address stay
//   D  increment  db's Service good, its EndpointSlice malformed: nothing sent, db intact
//   E  full       same input: the read-back matches the syncer's memory, nothing sent
//   F  increment  all good: the members kept while input was skipped go
//   G  full       nothing sent: after all the increments, memory == kernel
//
// One boot; never skipped: no qemu, apt, network or esbuild -> `before` rejects and every
// check fails.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parseIpvsadmSave } from '../../src/backends/ipvs/diff.js';
import { runInVm, type VmResult } from '../vm/vm.js';
import { bundleCli } from './ipvs/bundle-cli.js';
import { sections } from './ipvs/sections.js';
import { endpointSlice, service } from './suite/manifests.js';

const NODE_IP = '192.168.50.1';
const WEB = '10.96.0.10';
const DB = '10.96.0.11';
const DB_POD = '10.244.2.11';
const pod = (i: number) => `10.244.1.${i}`;

type Part = 'good' | 'bad-service' | 'bad-slice';

function manifests(webPods: readonly number[], db: Part): string {
  const items = [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, spec: { podCIDRs: ['10.244.1.0/24'] }, status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] } },
    { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'ipvs', clusterCIDR: '10.244.0.0/16', ipvs: { scheduler: 'rr' } },
    service('web', { clusterIP: WEB, clusterIPs: [WEB], ports: [{ port: 80, targetPort: 8080 }] }),
    endpointSlice('web', 'IPv4', webPods.map((i) => ({ ip: pod(i), node: 'node1' })), [{ port: 8080 }]),
    // A port out of range: the Service object is skipped as malformed.
    service('db', { clusterIP: DB, clusterIPs: [DB], ports: [{ port: db === 'bad-service' ? 70000 : 5432, targetPort: 5432 }] }),
    // An address that is no IPv4 address: the EndpointSlice is skipped as malformed.
    endpointSlice('db', 'IPv4', [{ ip: db === 'bad-slice' ? '10.244.2.999' : DB_POD, node: 'node2' }], [{ port: 5432 }]),
  ];
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2) + '\n';
}

const FILES = {
  'a.json': manifests([10, 11, 12], 'good'),
  'b.json': manifests([10, 11, 13], 'good'),
  'c.json': manifests([10, 14], 'bad-service'),
  'd.json': manifests([10, 14], 'bad-slice'),
  'f.json': manifests([10, 14], 'good'),
};

const SCRIPT = String.raw`
set -u
in=/work/input
# The node: its address on an interface of its own (NodePorts are not used here).
ip link add node0 type dummy && ip link set node0 up && ip addr add ${NODE_IP}/24 dev node0
host-node $in/driver.mjs A:$in/a.json:full B:$in/b.json C:$in/c.json D:$in/d.json E:$in/d.json:full F:$in/f.json G:$in/f.json:full 2>&1
echo "rc=$?"
`;

interface Step {
  readonly result: { full: boolean; changes: number; skipped: string[] };
  readonly commands: string[];
  readonly realServers: (vip: string) => string[];
  readonly addresses: string[];
}

describe('the agent\'s IPVS syncer in a real IPVS kernel (qemu VM)', { timeout: 900_000 }, () => {
  let run: VmResult;
  let out: Map<string, string>;
  const step = (name: string): Step => {
    const text = (k: string) => {
      const s = out.get(`${name} ${k}`);
      assert.ok(s !== undefined, `no section "${name} ${k}" in the VM output:\n${run.output}`);
      return s;
    };
    const result = text('result');
    assert.ok(result.startsWith('{'), `${name}: ${result}`);
    const ipvs = parseIpvsadmSave(text('ipvsadm'));
    return {
      result: JSON.parse(result) as Step['result'],
      commands: text('commands').split('\n').filter((l) => l && !l.startsWith('  ')),
      realServers: (vip) => (ipvs.find((v) => v.address === vip)?.realServers ?? []).map((r) => `${r.address}:${r.port}`).sort(),
      addresses: text('addresses').split('\n').filter(Boolean).sort(),
    };
  };
  const stdinOf = (name: string) => (out.get(`${name} commands`) ?? '').split('\n').filter((l) => l.startsWith('  ')).join('\n');

  before(async () => {
    const driver = await bundleCli('test/e2e/ipvs/syncer-driver.ts');
    run = await runInVm(SCRIPT, { hostFs: true, files: { 'driver.mjs': driver, ...FILES }, timeoutMs: 600_000, memoryMiB: 1024 });
    out = sections(run.output);
    process.stderr.write(`ipvs-syncer-vm: VM run ${run.durationMs} ms\n`);
  });

  it('runs every step', () => {
    assert.match(run.output, /^rc=0$/m, run.output);
    assert.ok(out.has('done'), run.output);
  });

  it('A: a full sync programs both Services, the helper chains through iptables-nft (the node\'s flavour)', () => {
    const a = step('A');
    assert.equal(a.result.full, true);
    assert.deepEqual(a.realServers(WEB), [10, 11, 12].map((i) => `${pod(i)}:8080`));
    assert.deepEqual(a.realServers(DB), [`${DB_POD}:5432`]);
    assert.deepEqual(a.addresses, [`${WEB}/32`, `${DB}/32`]);
    assert.ok(a.commands.includes('iptables-nft-restore --noflush -w'), a.commands.join('\n'));
    assert.ok(a.commands.includes('iptables-nft -w -t filter -I INPUT 1 -m comment --comment svcplane -j SVP-INPUT'), a.commands.join('\n'));
  });

  it('B: an endpoint change is applied incrementally: only web\'s real servers and hairpin members, no read-back', () => {
    const b = step('B');
    assert.equal(b.result.full, false);
    assert.deepEqual(b.commands, ['ipset restore', 'ipvsadm -R', 'ipset restore']);
    assert.deepEqual(stdinOf('B').split('\n').filter((l) => /^ {2}-[ad] /.test(l)), [
      `  -a -t ${WEB}:80 -r ${pod(13)}:8080 -m -w 1`,
      `  -d -t ${WEB}:80 -r ${pod(12)}:8080`,
    ]);
    assert.equal(b.result.changes, 4);
    assert.deepEqual(b.realServers(WEB), [10, 11, 13].map((i) => `${pod(i)}:8080`));
    assert.deepEqual(b.realServers(DB), [`${DB_POD}:5432`]);
  });

  it('C: db\'s Service malformed: only web\'s commands are sent; db\'s virtual server, real server and address stay', () => {
    const c = step('C');
    assert.deepEqual(c.result.skipped, ['default/db']);
    assert.equal(c.result.full, false);
    assert.deepEqual(c.commands, ['ipset restore', 'ipvsadm -R']);
    assert.doesNotMatch(stdinOf('C'), new RegExp(`${DB}|${DB_POD}`), stdinOf('C'));
    assert.deepEqual(c.realServers(WEB), [10, 14].map((i) => `${pod(i)}:8080`));
    assert.deepEqual(c.realServers(DB), [`${DB_POD}:5432`]);
    assert.deepEqual(c.addresses, [`${WEB}/32`, `${DB}/32`]);
  });

  it('D: db\'s EndpointSlice malformed: nothing is sent, db keeps its real server', () => {
    const d = step('D');
    assert.deepEqual(d.result.skipped, ['default/db']);
    assert.deepEqual(d.commands, []);
    assert.equal(d.result.changes, 0);
    assert.deepEqual(d.realServers(DB), [`${DB_POD}:5432`]);
  });

  it('E: a full resync of the same input reads back what the syncer remembered and sends nothing', () => {
    const e = step('E');
    assert.equal(e.result.full, true);
    assert.equal(e.result.changes, 0, (out.get('E commands') ?? '').toString());
    assert.deepEqual(e.realServers(DB), [`${DB_POD}:5432`]);
  });

  it('F: with all input good again, the hairpin members kept while it was skipped go (ipset only)', () => {
    const f = step('F');
    assert.equal(f.result.full, false);
    assert.deepEqual(f.commands, ['ipset restore']);
    assert.deepEqual(stdinOf('F').split('\n').map((l) => l.trim()).sort(), [
      `del SVP-LOOP-BACK ${pod(11)},tcp:8080,${pod(11)} -exist`,
      `del SVP-LOOP-BACK ${pod(13)},tcp:8080,${pod(13)} -exist`,
    ]);
  });

  it('G: a full resync after all the increments sends nothing: the memory matched the kernel', () => {
    const g = step('G');
    assert.equal(g.result.full, true);
    assert.equal(g.result.changes, 0, out.get('G commands'));
    assert.deepEqual(g.realServers(WEB), [10, 14].map((i) => `${pod(i)}:8080`));
    assert.deepEqual(g.realServers(DB), [`${DB_POD}:5432`]);
  });
});
