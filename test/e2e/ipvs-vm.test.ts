// IPVS backend end to end in a real IPVS kernel (issue 5): Debian's stock kernel under
// qemu/TCG (test/vm). Render is pure, so both steps are rendered here on the host; ONE VM
// boot then builds a node (the root namespace), five pod namespaces on a bridge and a
// client namespace, applies step A with the tools, flags and order of
// src/backends/ipvs/apply.ts, sends real connections, applies only the increment A -> B
// that apply would compute, and sends connections again. The host checks that what the
// kernel holds round-trips to the render (diffIpvs/diffIpsets find nothing) and that
// traffic goes where the Services say.
//
// Never skipped: no qemu, apt or network -> the VM run rejects and every check fails.
//
// Time (measured, this machine, 2 vCPUs, TCG): warm cache ~30 s for the whole file (one
// VM run ~28 s: boot ~10 s, 62 connections ~0.3 s each); cold cache (empty
// SVCPLANE_VM_CACHE: kernel .deb download + initramfs build ~8 s) ~38 s. The VM run's
// own limit is 5 minutes; issue 5 allows 10.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { SECTION, splitSections } from '../../src/backends/ipvs/document.js';
import { nodeForApply, ourRules } from '../../src/backends/ipvs/apply.js';
import { diffIpsets, diffIpvs, parseIpsetSave, parseIpvsadmSave } from '../../src/backends/ipvs/diff.js';
import { ipvsBackend } from '../../src/backends/ipvs/index.js';
import { renderIpvs } from '../../src/backends/ipvs/render.js';
import type { IpvsRuleset } from '../../src/backends/ipvs/ruleset.js';
import { prepareVmAssets, runInVm, type VmResult } from '../vm/vm.js';
import { BRIDGE_IP, CLIENT_IPS, EMPTY, INTERFACE_ADDRESSES, LOCAL, NODE, NODE_IP, NP, STICKY, WEB, scenario } from './ipvs/scenario.js';
import { COUNTS, VM_SCRIPT, vmFiles, type Increment } from './ipvs/script.js';
import { sections } from './ipvs/sections.js';

const ip = (cidr: string) => cidr.slice(0, cidr.indexOf('/'));

// Each step is rendered for the node as apply sees it then: step A on a fresh node;
// step B with A's Service addresses on the dummy interface (apply reads them too).
const nodeA = nodeForApply(NODE, INTERFACE_ADDRESSES, new Set());
const INPUT_A = scenario('A', nodeA);
const renderA = renderIpvs(INPUT_A);
const docA = ipvsBackend.render(INPUT_A);
const vipsA = new Set(renderA.interfaceAddresses.map(ip));
const nodeB = nodeForApply(NODE, [...INTERFACE_ADDRESSES, ...vipsA], vipsA);
const INPUT_B = scenario('B', nodeB);
const renderB = renderIpvs(INPUT_B);

const vss = (r: IpvsRuleset) => r.families.flatMap((f) => f.virtualServers);
const sets = (r: IpvsRuleset) => r.families.flatMap((f) => f.ipsets);

/**
 * Step B as apply computes it while the kernel holds step A: the live state is A's
 * render (the VM checks the kernel really holds exactly that), and a live virtual
 * server is ours when its address is on the dummy interface (A's addresses, still
 * there when apply reads them) or is a node address.
 */
function increment(): Increment {
  const a = splitSections(docA);
  const liveSets = parseIpsetSave(`${a.get(SECTION.ipset4)}${a.get(SECTION.ipset6)}`);
  const liveVs = parseIpvsadmSave(a.get(SECTION.ipvs)!);
  // As apply: wanted VIPs, VIPs still on the dummy interface, node addresses.
  const served = new Set([...renderB.interfaceAddresses.map(ip), ...vipsA, ...(nodeB.localAddresses ?? []), ...nodeB.addresses]);
  const { adds, dels } = diffIpsets(sets(renderB), liveSets);
  return {
    addressAdds: renderB.interfaceAddresses.filter((x) => !renderA.interfaceAddresses.includes(x)),
    addressDels: renderA.interfaceAddresses.filter((x) => !renderB.interfaceAddresses.includes(x)),
    ipsetAdds: adds,
    ipvs: diffIpvs(vss(renderB), liveVs, (v) => served.has(v.address)),
    ipsetDels: dels,
  };
}

/** Probe lines of a traffic section: label -> answers ("ep-10 10.244.1.1", "refused", "failed ..."). */
function probes(text: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of (text ?? '').split('\n')) {
    const m = /^([a-z0-9-]+) (.+)$/.exec(line);
    if (!m) continue;
    out.set(m[1]!, [...(out.get(m[1]!) ?? []), m[2]!.trim()]);
  }
  return out;
}

/** How often each endpoint answered, and every peer address the endpoints saw. */
function spread(answers: readonly string[] | undefined): { endpoints: Record<string, number>; peers: string[]; other: string[] } {
  const endpoints: Record<string, number> = {};
  const peers = new Set<string>();
  const other: string[] = [];
  for (const a of answers ?? []) {
    const m = /^(ep-\d+) (\S+)$/.exec(a);
    if (!m) {
      other.push(a);
      continue;
    }
    endpoints[m[1]!] = (endpoints[m[1]!] ?? 0) + 1;
    peers.add(m[2]!);
  }
  return { endpoints, peers: [...peers].sort(), other };
}

const sortLines = (t: string | undefined) => (t ?? '').split('\n').filter((l) => l.trim()).sort();

describe('IPVS backend in a real IPVS kernel (qemu VM)', { timeout: 600_000 }, () => {
  const inc = increment();
  let run: VmResult;
  let out: Map<string, string>;
  let trafficA: Map<string, string[]>;
  let trafficB: Map<string, string[]>;

  before(async () => {
    const started = Date.now();
    const assets = await prepareVmAssets();
    const assetsMs = Date.now() - started;
    run = await runInVm(VM_SCRIPT, { files: vmFiles(docA, inc), timeoutMs: 300_000 });
    process.stderr.write(`ipvs-vm: assets ${assets.built ? 'built' : 'cached'} in ${assetsMs} ms, VM run ${run.durationMs} ms\n`);
    out = sections(run.output);
    trafficA = probes(out.get('A traffic'));
    trafficB = probes(out.get('B traffic'));
  });

  it('runs the whole scenario in the VM', () => {
    assert.equal(run.exitCode, 0, `script failed:\n${run.output}`);
    assert.ok(out.has('done'), run.output);
  });

  it('step A: the kernel holds exactly the rendered IPVS services and ipsets (nothing left to diff)', () => {
    const live = parseIpvsadmSave(out.get('A ipvsadm') ?? '');
    assert.equal(live.length, vss(renderA).length, out.get('A ipvsadm'));
    assert.deepEqual(diffIpvs(vss(renderA), live, () => true), [], out.get('A ipvsadm'));
    const { adds, dels } = diffIpsets(sets(renderA), parseIpsetSave(out.get('A ipset') ?? ''));
    assert.deepEqual({ adds, dels }, { adds: [], dels: [] }, out.get('A ipset'));
    assert.deepEqual(sortLines(out.get('A addresses')), [...renderA.interfaceAddresses].sort());
    // Persistence made it into the kernel (ClientIP affinity).
    assert.match(out.get('A ipvsadm') ?? '', new RegExp(`^-A -t ${STICKY.ip.replaceAll('.', '\\.')}:80 -s rr -p 10800$`, 'm'));
  });

  it('step A: a ClusterIP spreads round-robin over its 3 endpoints; outside clients are masqueraded', () => {
    const s = spread(trafficA.get('web'));
    assert.deepEqual(s.other, [], run.output);
    assert.deepEqual(s.endpoints, { 'ep-10': 4, 'ep-11': 4, 'ep-12': 4 }, out.get('A traffic'));
    assert.equal(COUNTS.web, 12);
    assert.deepEqual(s.peers, [BRIDGE_IP], 'ClusterIP traffic from outside the cluster CIDR is masqueraded to the node');
  });

  it('step A: a NodePort (Cluster policy) reaches every endpoint, client source masqueraded', () => {
    const s = spread(trafficA.get('np'));
    assert.deepEqual(s.other, [], run.output);
    assert.deepEqual(s.endpoints, { 'ep-12': COUNTS.np / 2, 'ep-13': COUNTS.np / 2 }, out.get('A traffic'));
    assert.deepEqual(s.peers, [BRIDGE_IP]);
  });

  it('step A: ClientIP affinity holds one endpoint per client', () => {
    const one = spread(trafficA.get('sticky-1'));
    const two = spread(trafficA.get('sticky-2'));
    assert.deepEqual([one.other, two.other], [[], []], run.output);
    assert.equal(Object.keys(one.endpoints).length, 1, `client ${CLIENT_IPS[0]} moved: ${JSON.stringify(one.endpoints)}`);
    assert.equal(Object.keys(two.endpoints).length, 1, `client ${CLIENT_IPS[1]} moved: ${JSON.stringify(two.endpoints)}`);
    assert.equal(Object.values(one.endpoints)[0], COUNTS.sticky);
    // rr picks the next real server for a new client: persistence is per client, not global.
    assert.notDeepEqual(Object.keys(one.endpoints), Object.keys(two.endpoints));
  });

  it('step A: a Service without endpoints rejects connections', () => {
    assert.deepEqual(trafficA.get('empty'), Array(COUNTS.empty).fill('refused'), out.get('A traffic'));
  });

  it('step A: a Local-policy NodePort uses only this node\'s endpoint and keeps the client address', () => {
    const s = spread(trafficA.get('local'));
    assert.deepEqual(s.other, [], run.output);
    assert.deepEqual(s.endpoints, { 'ep-10': COUNTS.local }, out.get('A traffic'));
    assert.deepEqual(s.peers, [CLIENT_IPS[0]]);
  });

  it('step A: the helper rules read back from iptables-save equal the render, so the next apply skips them', () => {
    for (const [section, family] of [['A iptables', 0], ['A ip6tables', 1]] as const) {
      const live = out.get(section) ?? '';
      assert.match(live, /^:SVP-SERVICES /m, section);
      assert.equal(ourRules(live), ourRules(renderA.families[family]!.iptables), section);
    }
  });

  it('step B: NodePorts are served on node addresses only, never on Service addresses', () => {
    const onNodePorts = vss(renderB).filter((v) => v.port === NP.nodePort || v.port === LOCAL.nodePort).map((v) => v.address);
    assert.deepEqual([...new Set(onNodePorts)].sort(), [BRIDGE_IP, NODE_IP].sort());
    assert.ok(!parseIpvsadmSave(out.get('B ipvsadm') ?? '').some((v) => v.port === NP.nodePort && vipsA.has(v.address)), out.get('B ipvsadm'));
  });

  it('step B: the increment is small (no full reload) and touches what changed', () => {
    // web loses 10.244.1.12, np's 10.244.1.13 drains at weight 0, sticky goes, empty gains 10.244.1.13.
    assert.deepEqual([...inc.ipvs].sort(), [
      `-d -t ${WEB.ip}:80 -r 10.244.1.12:8080`,
      `-e -t ${NP.ip}:80 -r 10.244.1.13:8080 -m -w 0`,
      `-a -t ${EMPTY.ip}:80 -r 10.244.1.13:8080 -m -w 1`,
      `-e -t ${NODE_IP}:${NP.nodePort} -r 10.244.1.13:8080 -m -w 0`,
      `-e -t ${BRIDGE_IP}:${NP.nodePort} -r 10.244.1.13:8080 -m -w 0`,
      `-D -t ${STICKY.ip}:80`,
    ].sort(), inc.ipvs.join('\n'));
    assert.deepEqual(inc.addressDels, [`${STICKY.ip}/32`]);
    assert.deepEqual(inc.addressAdds, []);
    assert.ok(inc.ipsetDels.includes(`del SVP-NO-ENDPOINTS ${EMPTY.ip},tcp:80 -exist`), inc.ipsetDels.join('\n'));
    assert.ok(inc.ipsetDels.includes(`del SVP-CLUSTER-IP ${STICKY.ip},tcp:80 -exist`), inc.ipsetDels.join('\n'));
    // The helper rules are static: step B sends no iptables-restore.
    assert.deepEqual(renderB.families.map((f) => f.iptables), renderA.families.map((f) => f.iptables));
  });

  it('step B: after the increment the kernel holds exactly B\'s render', () => {
    const live = parseIpvsadmSave(out.get('B ipvsadm') ?? '');
    assert.deepEqual(diffIpvs(vss(renderB), live, () => true), [], out.get('B ipvsadm'));
    const { adds, dels } = diffIpsets(sets(renderB), parseIpsetSave(out.get('B ipset') ?? ''));
    assert.deepEqual({ adds, dels }, { adds: [], dels: [] }, out.get('B ipset'));
    assert.deepEqual(sortLines(out.get('B addresses')), [...renderB.interfaceAddresses].sort());
  });

  it('step B: the removed real server is no longer chosen, the rest still are', () => {
    const s = spread(trafficB.get('web'));
    assert.deepEqual(s.other, [], run.output);
    assert.deepEqual(s.endpoints, { 'ep-10': COUNTS.webB / 2, 'ep-11': COUNTS.webB / 2 }, out.get('B traffic'));
  });

  it('step B: a weight-0 (terminating) real server gets no new connection', () => {
    const s = spread(trafficB.get('np'));
    assert.deepEqual(s.other, [], run.output);
    assert.deepEqual(s.endpoints, { 'ep-12': COUNTS.npB }, out.get('B traffic'));
  });

  it('step B: the Service that gained an endpoint answers from it instead of rejecting', () => {
    const s = spread(trafficB.get('empty'));
    assert.deepEqual(s.other, [], run.output);
    assert.deepEqual(s.endpoints, { 'ep-13': COUNTS.emptyB }, out.get('B traffic'));
  });

  it('step B: the deleted Service no longer answers', () => {
    const answers = trafficB.get('sticky') ?? [];
    assert.equal(answers.length, COUNTS.stickyB, out.get('B traffic'));
    for (const a of answers) assert.doesNotMatch(a, /^ep-/, out.get('B traffic'));
  });
});
