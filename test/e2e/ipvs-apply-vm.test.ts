// The real `svcplane apply --backend ipvs` (src/backends/ipvs/apply.ts: its execa calls,
// its parsing of live `ipvsadm -Sn`, `ipset save`, `ip -j addr`, `iptables-save`, its
// order) against a real IPVS kernel: Debian's stock kernel under qemu/TCG (test/vm).
// ipvs-vm.test.ts replays apply's steps as shell; here the CLI itself runs in the VM, on
// the host's node binary (runInVm's hostFs: the host's / shared read-only at /host).
//
// ONE boot: topology (4 pod namespaces with echo servers on a bridge, a client namespace),
// apply A; apply A again (must change nothing: the read-back parsing matches the kernel);
// traffic; B --dry-run (only real-server commands), apply B, apply B again; traffic;
// `svcplane cleanup` (nothing of ours left).
//
// The CLI runs as one ESM bundle of src/cli/main.ts, built here with esbuild (tsx's own
// dependency), not via `--import tsx`: under TCG, tsx plus loading ~1000 module files
// took ~55 s per invocation (measured: `--help` 62 s, then 54 s with tsx's cache warm);
// the bundle of the same sources starts in a few seconds. Same code, same code paths.
//
// Never skipped: no qemu, apt, network or esbuild -> `before` rejects and every check fails.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { parseIpvsadmSave } from '../../src/backends/ipvs/diff.js';
import { DUMMY_INTERFACE } from '../../src/backends/ipvs/ruleset.js';
import { runInVm, type VmResult } from '../vm/vm.js';
import { endpointSlice, service } from './suite/manifests.js';
import { bundleCli } from './ipvs/bundle-cli.js';
import { clientScript, podsScript, waitForPodsScript } from './ipvs/pods-script.js';
import { sections } from './ipvs/sections.js';

const NODE_IP = '192.168.50.1';
const BRIDGE_IP = '10.244.1.1';
const CLIENT_IP = '192.168.50.2';
const PODS = [10, 11, 12, 13] as const;
const WEB = '10.96.0.10'; // ClusterIP; A: pods 10 11 12, B: 10 11 13
const NP = { ip: '10.96.0.20', nodePort: 30080 }; // NodePort, pods 12 13 (unchanged)
const COUNTS = { webA: 9, np: 4, webB: 9 } as const;

const pod = (i: number) => `10.244.1.${i}`;
/** Virtual servers someone else made before apply, on node addresses: one inside ipvs.excludeCIDRs, one not. */
const FOREIGN = { excluded: '10.123.0.5', excludedPort: 9999, stalePort: 9998 } as const;

/** Node + KubeProxyConfiguration + two Services and their slices, as one v1 List. */
function manifests(webPods: readonly number[]): string {
  const eps = (ids: readonly number[]) => ids.map((i) => ({ ip: pod(i), node: 'node1' }));
  const items = [
    {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'node1' },
      spec: { podCIDRs: ['10.244.1.0/24'] },
      status: { addresses: [{ type: 'InternalIP', address: NODE_IP }] },
    },
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'ipvs',
      clusterCIDR: '10.244.0.0/16',
      nodePortAddresses: ['192.168.50.0/24'],
      // The node settings: strictARP, the IPVS timeouts, and a range whose virtual servers are someone else's.
      ipvs: { scheduler: 'rr', strictARP: true, tcpTimeout: '15m', tcpFinTimeout: '30s', udpTimeout: '45s', excludeCIDRs: [`${FOREIGN.excluded}/32`] },
    },
    service('web', { clusterIP: WEB, clusterIPs: [WEB], ports: [{ port: 80, targetPort: 8080 }] }),
    endpointSlice('web', 'IPv4', eps(webPods), [{ port: 8080 }]),
    service('np', {
      type: 'NodePort',
      clusterIP: NP.ip,
      clusterIPs: [NP.ip],
      ports: [{ port: 80, targetPort: 8080, nodePort: NP.nodePort }],
    }),
    endpointSlice('np', 'IPv4', eps([12, 13]), [{ port: 8080 }]),
  ];
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2) + '\n';
}

const loop = (n: number, cmd: string) => `for i in $(seq ${n}); do ${cmd}; done`;

// Each CLI step prints its output, then "rc=N" (no `set -e`: the host asserts on every rc).
const SCRIPT = String.raw`
set -u
in=/work/input
svcplane() { host-node $in/svcplane.mjs "$@"; }
step() { label=$1; shift; echo "== $label"; t0=$(cut -d' ' -f1 /proc/uptime); svcplane "$@" 2>&1; echo "rc=$?"; echo "took $(cut -d' ' -f1 /proc/uptime) $t0"; }
probe() {
  out=$(ip netns exec client socat -T2 - "TCP4:$2" </dev/null 2>&1) || true
  case "$out" in
    ep-*) echo "$1 $out" ;;
    *"Connection refused"*) echo "$1 refused" ;;
    *) echo "$1 failed $(echo "$out" | tr '\n' ' ')" ;;
  esac
}
state() {
  echo "== $1 ipvsadm"; ipvsadm -Sn
  echo "== $1 addresses"; ip -o addr show dev ${DUMMY_INTERFACE} scope global | sed -n 's/.* inet \([^ ]*\) .*/\1/p'
}

${podsScript({ bridgeIP: BRIDGE_IP, pods: PODS, port: 8080 })}
${clientScript({ nodeIP: NODE_IP, clientIPs: [CLIENT_IP] })}
${waitForPodsScript({ pods: PODS, port: 8080 })}

# Someone else's virtual servers on node addresses (not in nodePortAddresses' range).
ip addr add ${FOREIGN.excluded}/32 dev to-client
ipvsadm -A -t ${FOREIGN.excluded}:${FOREIGN.excludedPort} -s rr
ipvsadm -A -t ${NODE_IP}:${FOREIGN.stalePort} -s rr
echo "== before timeouts"; ipvsadm -L --timeout

step "A apply" apply --backend ipvs -f $in/a.json
state A
echo "== A timeouts"; ipvsadm -L --timeout
echo "== A arp"; cat /proc/sys/net/ipv4/conf/all/arp_ignore /proc/sys/net/ipv4/conf/all/arp_announce
step "A again" apply --backend ipvs -f $in/a.json
echo "== A traffic"
${loop(COUNTS.webA, `probe web ${WEB}:80`)}
${loop(COUNTS.np, `probe np ${NODE_IP}:${NP.nodePort}`)}

step "B dry-run" apply --backend ipvs --dry-run -f $in/b.json
step "B apply" apply --backend ipvs -f $in/b.json
state B
step "B again" apply --backend ipvs -f $in/b.json
echo "== B traffic"
${loop(COUNTS.webB, `probe web ${WEB}:80`)}

step "cleanup" cleanup
echo "== after ipvsadm"; ipvsadm -Sn
echo "== after ipsets"; ipset list -n
echo "== after link"; ip link show ${DUMMY_INTERFACE} 2>&1; echo "rc=$?"
echo "== after iptables"; iptables-save; ip6tables-save
echo "== done"
`;

/** A CLI step's section: its output without the rc and timing lines, its exit code, its guest seconds. */
function step(out: Map<string, string>, name: string): { text: string; rc: number; seconds: number } {
  const s = out.get(name);
  assert.ok(s !== undefined, `no section "${name}" in the VM output`);
  const rc = /^rc=(\d+)$/m.exec(s);
  const took = /^took (\S+) (\S+)$/m.exec(s);
  return {
    text: s.replace(/^(rc=\d+|took .*)$/gm, '').trim(),
    rc: rc ? Number(rc[1]) : NaN,
    seconds: took ? Number(took[1]) - Number(took[2]) : NaN,
  };
}

/** endpoint name -> how many of the probes it answered; anything else is listed in `other`. */
function spread(text: string | undefined, label: string): { endpoints: Record<string, number>; peers: string[]; other: string[] } {
  const endpoints: Record<string, number> = {};
  const peers = new Set<string>();
  const other: string[] = [];
  for (const line of (text ?? '').split('\n')) {
    if (!line.startsWith(`${label} `)) continue;
    const m = /^\S+ (ep-\d+) (\S+)$/.exec(line);
    if (!m) other.push(line);
    else {
      endpoints[m[1]!] = (endpoints[m[1]!] ?? 0) + 1;
      peers.add(m[2]!);
    }
  }
  return { endpoints, peers: [...peers].sort(), other };
}

const realServers = (save: string | undefined, vip: string) =>
  parseIpvsadmSave(save ?? '')
    .filter((v) => v.address === vip)
    .flatMap((v) => v.realServers.map((r) => `${r.address}:${r.port}`))
    .sort();

describe('svcplane apply --backend ipvs, the real CLI in a real IPVS kernel (qemu VM)', { timeout: 900_000 }, () => {
  let run: VmResult;
  let out: Map<string, string>;

  before(async () => {
    const t0 = Date.now();
    const cli = await bundleCli();
    const bundleMs = Date.now() - t0;
    run = await runInVm(SCRIPT, {
      hostFs: true,
      files: { 'svcplane.mjs': cli, 'a.json': manifests([10, 11, 12]), 'b.json': manifests([10, 11, 13]) },
      timeoutMs: 600_000,
      memoryMiB: 1024,
    });
    out = sections(run.output);
    const steps = ['A apply', 'A again', 'B dry-run', 'B apply', 'B again', 'cleanup']
      .map((s) => `${s} ${out.has(s) ? step(out, s).seconds.toFixed(1) : '?'}s`)
      .join(', ');
    process.stderr.write(`ipvs-apply-vm: bundle ${bundleMs} ms, VM run ${run.durationMs} ms (guest: ${steps})\n`);
  });

  it('runs the whole script', () => {
    assert.equal(run.exitCode, 0, run.output);
    assert.ok(out.has('done'), run.output);
  });

  it('apply A exits 0 and the kernel holds the virtual servers of both Services', () => {
    const a = step(out, 'A apply');
    assert.equal(a.rc, 0, a.text);
    assert.match(a.text, /^changed [1-9]\d* object\(s\)$/m, a.text);
    assert.deepEqual(realServers(out.get('A ipvsadm'), WEB), [pod(10), pod(11), pod(12)].map((p) => `${p}:8080`), out.get('A ipvsadm'));
    assert.deepEqual(realServers(out.get('A ipvsadm'), NP.ip), [pod(12), pod(13)].map((p) => `${p}:8080`), out.get('A ipvsadm'));
    // The NodePort is served on the node address nodePortAddresses selects, not on VIPs.
    const np = parseIpvsadmSave(out.get('A ipvsadm') ?? '').filter((v) => v.port === NP.nodePort).map((v) => v.address);
    assert.deepEqual(np, [NODE_IP], out.get('A ipvsadm'));
    assert.deepEqual((out.get('A addresses') ?? '').split('\n').filter(Boolean).sort(), [`${WEB}/32`, `${NP.ip}/32`]);
  });

  it('apply A keeps the virtual server inside ipvs.excludeCIDRs and deletes the stale one outside it', () => {
    const live = parseIpvsadmSave(out.get('A ipvsadm') ?? '').map((v) => `${v.address}:${v.port}`);
    assert.ok(live.includes(`${FOREIGN.excluded}:${FOREIGN.excludedPort}`), out.get('A ipvsadm'));
    assert.ok(!live.includes(`${NODE_IP}:${FOREIGN.stalePort}`), out.get('A ipvsadm'));
  });

  it('apply A sets the IPVS timeouts (ipvsadm --set) and strictARP (arp_ignore 1, arp_announce 2)', () => {
    assert.match(out.get('before timeouts') ?? '', /Timeout \(tcp tcpfin udp\): 900 120 300/, 'the stock kernel values, so the change is visible');
    assert.match(out.get('A timeouts') ?? '', /Timeout \(tcp tcpfin udp\): 900 30 45/, out.get('A timeouts'));
    assert.deepEqual((out.get('A arp') ?? '').split('\n').filter(Boolean), ['1', '2'], out.get('A arp'));
  });

  it('apply A a second time changes nothing (live ipvsadm/ipset/ip/iptables state parses back to the render)', () => {
    const again = step(out, 'A again');
    assert.equal(again.rc, 0, again.text);
    assert.match(again.text, /^changed 0 object\(s\)$/m, again.text);
  });

  it('A: the ClusterIP reaches every endpoint, round-robin; the NodePort reaches both of its endpoints', () => {
    const web = spread(out.get('A traffic'), 'web');
    assert.deepEqual(web.other, [], out.get('A traffic'));
    assert.deepEqual(web.endpoints, { 'ep-10': 3, 'ep-11': 3, 'ep-12': 3 }, out.get('A traffic'));
    const np = spread(out.get('A traffic'), 'np');
    assert.deepEqual(np.other, [], out.get('A traffic'));
    assert.deepEqual(np.endpoints, { 'ep-12': 2, 'ep-13': 2 }, out.get('A traffic'));
  });

  it('B --dry-run prints only the two real-server commands and changes nothing', () => {
    const dry = step(out, 'B dry-run');
    assert.equal(dry.rc, 0, dry.text);
    const lines = dry.text.split('\n').filter((l) => l && !/^would change/.test(l));
    assert.deepEqual(lines.sort(), [`-a -t ${WEB}:80 -r ${pod(13)}:8080 -m -w 1`, `-d -t ${WEB}:80 -r ${pod(12)}:8080`].sort(), dry.text);
    assert.match(dry.text, /^would change 2 object\(s\)$/m);
  });

  it('apply B sends the same two real-server commands, and a second apply B nothing', () => {
    const b = step(out, 'B apply');
    assert.equal(b.rc, 0, b.text);
    assert.match(b.text, /^changed 2 object\(s\)$/m, b.text);
    assert.deepEqual(realServers(out.get('B ipvsadm'), WEB), [pod(10), pod(11), pod(13)].map((p) => `${p}:8080`), out.get('B ipvsadm'));
    assert.deepEqual(realServers(out.get('B ipvsadm'), NP.ip), [pod(12), pod(13)].map((p) => `${p}:8080`), out.get('B ipvsadm'));
    const again = step(out, 'B again');
    assert.equal(again.rc, 0, again.text);
    assert.match(again.text, /^changed 0 object\(s\)$/m, again.text);
  });

  it('B: traffic no longer reaches the removed endpoint and does reach the added one', () => {
    const web = spread(out.get('B traffic'), 'web');
    assert.deepEqual(web.other, [], out.get('B traffic'));
    assert.deepEqual(web.endpoints, { 'ep-10': 3, 'ep-11': 3, 'ep-13': 3 }, out.get('B traffic'));
  });

  it('cleanup removes every IPVS object of ours', () => {
    const c = step(out, 'cleanup');
    assert.match(c.text, /^ipvs: removed [1-9]\d* object\(s\)$/m, c.text);
  });

  // `svcplane cleanup` runs IPVS's cleanup before the iptables one, which deletes every
  // SVP- chain and could not while IPVS's hooks still jumped to them.
  it('cleanup exits 0', () => {
    const c = step(out, 'cleanup');
    assert.equal(c.rc, 0, c.text);
  });

  it('after cleanup nothing of ours is left: no virtual servers, SVP ipsets, SVP chains or dummy interface', () => {
    assert.deepEqual(parseIpvsadmSave(out.get('after ipvsadm') ?? ''), [], out.get('after ipvsadm'));
    assert.doesNotMatch(out.get('after ipsets') ?? '', /SVP/, out.get('after ipsets'));
    assert.match(out.get('after link') ?? '', /rc=[1-9]/, out.get('after link'));
    assert.doesNotMatch(out.get('after iptables') ?? '', /SVP|svcplane/, out.get('after iptables'));
  });
});
