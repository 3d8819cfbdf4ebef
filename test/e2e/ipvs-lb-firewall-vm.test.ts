// The IPVS backend's loadBalancerSourceRanges firewall in a real IPVS kernel (qemu VM,
// test/vm): the real CLI applies it, real connections probe it. The VM's root
// namespace is the node (192.168.50.1, its primary address); a client namespace holds
// 192.168.50.2 (in range) and 192.168.50.3 (outside every range).
//   fw-out  203.0.113.40  ranges 192.168.50.2/32                  (no range holds the node)
//   fw-in   203.0.113.41  ranges 192.168.50.2/32, 192.168.50.1/32 (one holds the node)
// Checks: the ranges decide for arriving traffic (filter INPUT, before IPVS); the node's
// own connections, which IPVS takes at LOCAL_OUT before filter OUTPUT, are judged by the
// mangle OUTPUT rule: from the VIP (the dummy interface makes it the source) only when a
// range holds the node, from the node's address only when a range holds it.
//
// One boot; never skipped: no qemu, apt, network or esbuild -> `before` rejects and every
// check fails.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { runInVm, type VmResult } from '../vm/vm.js';
import { bundleCli } from './ipvs/bundle-cli.js';
import { clientScript, podsScript, waitForPodsScript } from './ipvs/pods-script.js';
import { sections } from './ipvs/sections.js';
import { endpointSlice, service } from './suite/manifests.js';

const NODE_IP = '192.168.50.1';
const IN_RANGE = '192.168.50.2';
const OUT_OF_RANGE = '192.168.50.3';
const FW_OUT = '203.0.113.40';
const FW_IN = '203.0.113.41';

function manifests(): string {
  const lb = (name: string, clusterIP: string, ip: string, ranges: string[]) => [
    service(name, { type: 'LoadBalancer', clusterIP, clusterIPs: [clusterIP], loadBalancerSourceRanges: ranges, ports: [{ port: 80, targetPort: 8080, nodePort: 30000 + Number(ip.split('.')[3]) }] }, { loadBalancer: { ingress: [{ ip }] } }),
    endpointSlice(name, 'IPv4', [{ ip: '10.244.1.10', node: 'node1' }], [{ port: 8080 }]),
  ];
  const items = [
    { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node1' }, spec: { podCIDRs: ['10.244.1.0/24'] }, status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] } },
    { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'ipvs', clusterCIDR: '10.244.0.0/16', nodePortAddresses: ['192.168.50.0/24'] },
    ...lb('fw-out', '10.96.0.40', FW_OUT, [`${IN_RANGE}/32`]),
    ...lb('fw-in', '10.96.0.41', FW_IN, [`${IN_RANGE}/32`, `${NODE_IP}/32`]),
  ];
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2) + '\n';
}

// A probe prints "LABEL ep-10 PEER" when the endpoint answered, "LABEL failed …" otherwise.
// socat's connect-timeout bounds a dropped SYN; an accepted connection answers in far less.
const SCRIPT = String.raw`
set -u
in=/work/input
probe() {
  label=$1; shift
  out=$("$@" socat -T5 - "TCP4:$target,connect-timeout=4$bind" </dev/null 2>&1) || true
  case "$out" in
    ep-*) echo "$label $out" ;;
    *) echo "$label failed $(echo "$out" | tr '\n' ' ')" ;;
  esac
}
${podsScript({ bridgeIP: '10.244.1.1', pods: [10], port: 8080 })}
${clientScript({ nodeIP: NODE_IP, clientIPs: [IN_RANGE, OUT_OF_RANGE] })}
${waitForPodsScript({ pods: [10], port: 8080 })}

echo "== apply"
host-node $in/svcplane.mjs apply --backend ipvs -f $in/fw.json 2>&1; echo "rc=$?"
echo "== mangle"
iptables-save -t mangle
echo "== traffic"
for vip in ${FW_OUT} ${FW_IN}; do
  target=$vip:80
  bind=,bind=${IN_RANGE};     probe "client-in-range $vip" ip netns exec client
  bind=,bind=${OUT_OF_RANGE}; probe "client-out-of-range $vip" ip netns exec client
  bind=;                      probe "node-from-vip $vip" env
  bind=,bind=${NODE_IP};      probe "node-from-node-ip $vip" env
done
echo "== done"
`;

describe('ipvs: loadBalancerSourceRanges and its implicit allowances, real traffic in a real IPVS kernel (qemu VM)', { timeout: 900_000 }, () => {
  let run: VmResult;
  let out: Map<string, string>;
  const answered = new Map<string, boolean>();

  before(async () => {
    run = await runInVm(SCRIPT, { hostFs: true, files: { 'svcplane.mjs': await bundleCli(), 'fw.json': manifests() }, timeoutMs: 600_000, memoryMiB: 1024 });
    out = sections(run.output);
    for (const line of (out.get('traffic') ?? '').split('\n')) {
      const m = /^(\S+ \S+) (ep-10|failed)/.exec(line);
      if (m) answered.set(m[1]!, m[2] === 'ep-10');
    }
    process.stderr.write(`ipvs-lb-firewall-vm: VM run ${run.durationMs} ms\n`);
  });

  const expectProbe = (label: string, vip: string, ok: boolean) => {
    const key = `${label} ${vip}`;
    assert.equal(answered.get(key), ok, `${key}: expected ${ok ? 'the endpoint to answer' : 'a drop'}\n${out.get('traffic')}\n${out.get('apply')}`);
  };

  it('runs the whole script and apply exits 0, with the firewall in mangle OUTPUT', () => {
    assert.equal(run.exitCode, 0, run.output);
    assert.ok(out.has('done'), run.output);
    assert.match(out.get('apply') ?? '', /^rc=0$/m, out.get('apply'));
    assert.match(out.get('mangle') ?? '', /^-A OUTPUT -m comment --comment svcplane -j SVP-OUTPUT-FIREWALL$/m, out.get('mangle'));
  });

  it('arriving traffic: a source in range reaches the endpoint, one outside every range is dropped', () => {
    for (const vip of [FW_OUT, FW_IN]) {
      expectProbe('client-in-range', vip, true);
      expectProbe('client-out-of-range', vip, false);
    }
  });

  it('the node looping back to its VIP (source = the LB IP): accepted only when a range holds the node', () => {
    expectProbe('node-from-vip', FW_IN, true);
    expectProbe('node-from-vip', FW_OUT, false);
  });

  it('the node from its own address: only a range lets it through (no implicit node allowance)', () => {
    expectProbe('node-from-node-ip', FW_IN, true);
    expectProbe('node-from-node-ip', FW_OUT, false);
  });
});
