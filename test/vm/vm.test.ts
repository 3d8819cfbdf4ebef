// Self-test of the IPVS test VM (test/vm): boots Debian's kernel under qemu and proves,
// with real traffic, what the IPVS backend tests will rely on: ipvsadm round-robin to two
// real servers (TCP and UDP, from the VM itself and from a client network namespace),
// `ipvsadm -Sn` | `ipvsadm -R` round trip, `ipset restore`, `iptables-restore` (nf_tables
// backend, the same as the host's), input files, exit codes, and the timeout that kills qemu.
//
// Without qemu, apt or network it fails with the reason: it never skips.

import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { prepareVmAssets, runInVm, VmError, type VmResult } from './vm.js';

// What kube-proxy's IPVS mode loads (shapes only; the backend's own renders are tested by it).
const IPSET_INPUT = `create SVP-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536
add SVP-CLUSTER-IP 10.96.0.10,tcp:80
add SVP-CLUSTER-IP 10.96.0.10,udp:53
create SVP-LOOP-BACK hash:ip,port,ip family inet hashsize 1024 maxelem 65536
add SVP-LOOP-BACK 10.244.1.10,tcp:8080,10.244.1.10
create SVP-NODE-PORT-TCP bitmap:port range 0-65535
add SVP-NODE-PORT-TCP 30080
create SVP-LB-SOURCE-CIDR hash:ip,port,net family inet hashsize 1024 maxelem 65536
add SVP-LB-SOURCE-CIDR 10.96.0.20,tcp:80,192.168.0.0/16
`;

const IPTABLES_INPUT = `*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:SVP-SERVICES - [0:0]
:SVP-POSTROUTING - [0:0]
:SVP-MARK-MASQ - [0:0]
-A PREROUTING -m comment --comment "svcplane service portals" -j SVP-SERVICES
-A OUTPUT -m comment --comment "svcplane service portals" -j SVP-SERVICES
-A POSTROUTING -m comment --comment "svcplane postrouting rules" -j SVP-POSTROUTING
-A SVP-SERVICES -m comment --comment "hairpin" -m set --match-set SVP-LOOP-BACK dst,dst,src -j SVP-MARK-MASQ
-A SVP-SERVICES -m addrtype --dst-type LOCAL -m set --match-set SVP-NODE-PORT-TCP dst -p tcp -j SVP-MARK-MASQ
-A SVP-SERVICES -m set --match-set SVP-CLUSTER-IP dst,dst -j ACCEPT
-A SVP-MARK-MASQ -j MARK --or-mark 0x4000
-A SVP-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A SVP-POSTROUTING -j MARK --xor-mark 0x4000
-A SVP-POSTROUTING -m comment --comment "svcplane service traffic requiring SNAT" -j MASQUERADE
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SVP-FORWARD - [0:0]
-A FORWARD -j SVP-FORWARD
-A SVP-FORWARD -m conntrack --ctstate INVALID -j DROP
-A SVP-FORWARD -m mark --mark 0x4000/0x4000 -j ACCEPT
-A SVP-FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m multiport --dports 30000:32767 -m statistic --mode random --probability 0.5 -j ACCEPT
-A INPUT -p tcp --dport 9 -j REJECT --reject-with tcp-reset
COMMIT
`;

// Runs in the VM with busybox sh. Prints "<check> <answer>" lines the test parses, and
// section markers; `set -e` makes any failed command end the run with its exit code.
const SELF_TEST_SCRIPT = String.raw`
set -eu
fail() { echo "FAIL: $*"; exit 1; }
# Wait until something listens on ADDR:PORT (proto tcp|udp).
wait_listen() {
  for i in $(seq 50); do
    if netstat -ln"$( [ "$1" = udp ] && echo u || echo t )" | grep -q " $2:$3 "; then return 0; fi
    sleep 0.1
  done
  fail "nothing listens on $1 $2:$3"
}

echo "== versions"
uname -r
ipvsadm --version
iptables -V

echo "== topology"
# The Service address on a dummy device, as kube-proxy's kube-ipvs0.
ip link add svp-ipvs0 type dummy
ip link set svp-ipvs0 up
ip addr add 10.96.0.10/32 dev svp-ipvs0
# Two "pods": local addresses whose servers answer with their own name.
ip link add pods0 type dummy
ip link set pods0 up
ip addr add 10.244.1.10/32 dev pods0
ip addr add 10.244.1.11/32 dev pods0
sysctl -qw net.ipv4.ip_forward=1
sysctl -qw net.ipv4.vs.conntrack=1
for ep in 10 11; do
  name=ep-$ep
  socat TCP4-LISTEN:8080,bind=10.244.1.$ep,fork,reuseaddr SYSTEM:"echo $name" &
  socat UDP4-RECVFROM:5353,bind=10.244.1.$ep,fork SYSTEM:"echo $name" &
  wait_listen tcp 10.244.1.$ep 8080
  wait_listen udp 10.244.1.$ep 5353
done

echo "== ipvs"
ipvsadm -A -t 10.96.0.10:80 -s rr
ipvsadm -a -t 10.96.0.10:80 -r 10.244.1.10:8080 -m
ipvsadm -a -t 10.96.0.10:80 -r 10.244.1.11:8080 -m
ipvsadm -A -u 10.96.0.10:53 -s rr
ipvsadm -a -u 10.96.0.10:53 -r 10.244.1.10:5353 -m
ipvsadm -a -u 10.96.0.10:53 -r 10.244.1.11:5353 -m
ipvsadm -Ln
for i in $(seq 10); do echo "tcp-local $(socat -T2 - TCP4:10.96.0.10:80 </dev/null)"; done
for i in $(seq 10); do echo "udp-local $(echo q | socat -T2 - UDP4:10.96.0.10:53)"; done

echo "== client namespace"
# A second host: its own network namespace, a veth link, the Service routed via the node.
ip netns add client
ip link add to-client type veth peer name eth0 netns client
ip addr add 192.168.50.1/24 dev to-client
ip link set to-client up
ip netns exec client ip link set lo up
ip netns exec client ip addr add 192.168.50.2/24 dev eth0
ip netns exec client ip link set eth0 up
ip netns exec client ip route add default via 192.168.50.1
for i in $(seq 6); do echo "tcp-netns $(ip netns exec client socat -T2 - TCP4:10.96.0.10:80 </dev/null)"; done

echo "== save/restore"
ipvsadm -Sn > /tmp/saved
ipvsadm -C
[ -z "$(ipvsadm -Sn)" ] || fail "ipvsadm -C left services"
ipvsadm -R < /tmp/saved
ipvsadm -Sn > /tmp/again
cat /tmp/saved
cmp /tmp/saved /tmp/again && echo "ipvs-roundtrip same"
for i in $(seq 4); do echo "tcp-restored $(socat -T2 - TCP4:10.96.0.10:80 </dev/null)"; done

echo "== ipset"
ipset restore < /work/input/ipset.txt
ipset list -n | sort | sed 's/^/ipset-set /'
ipset test SVP-CLUSTER-IP 10.96.0.10,tcp:80 2>/dev/null && echo "ipset-member yes"
ipset test SVP-CLUSTER-IP 10.96.0.10,tcp:81 2>/dev/null || echo "ipset-nonmember yes"

echo "== iptables"
iptables-restore --test < /work/input/iptables.txt && echo "iptables-test ok"
iptables-restore < /work/input/iptables.txt
iptables-save | grep -c '^-A SVP-' | sed 's/^/iptables-svp-rules /'
iptables-save -t nat | grep -- '--match-set SVP-CLUSTER-IP' >/dev/null && echo "iptables-match-set ok"
# With the rules loaded, Service traffic still flows and masquerade rules do not break it.
for i in $(seq 4); do echo "tcp-with-iptables $(socat -T2 - TCP4:10.96.0.10:80 </dev/null)"; done
echo "== done"
`;

/** Answers per check: "tcp-local ep-10" lines -> { 'tcp-local': ['ep-10', ...] }. */
function answers(output: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of output.split('\n')) {
    const m = /^([a-z-]+) (.*)$/.exec(line);
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    list.push(m[2]!.trim());
    out.set(m[1]!, list);
  }
  return out;
}

function counts(list: readonly string[] | undefined): Record<string, number> {
  const c: Record<string, number> = {};
  for (const x of list ?? []) c[x] = (c[x] ?? 0) + 1;
  return c;
}

describe('IPVS test VM', { timeout: 600_000 }, () => {
  let run: VmResult;
  let seen: Map<string, string[]>;

  before(async () => {
    const started = Date.now();
    const assets = await prepareVmAssets();
    process.stderr.write(
      `vm: assets ${assets.built ? 'built' : 'cached'} in ${Date.now() - started} ms (${assets.kernelPackage}, ${assets.dir})\n`,
    );
    run = await runInVm(SELF_TEST_SCRIPT, {
      timeoutMs: 240_000,
      files: { 'ipset.txt': IPSET_INPUT, 'iptables.txt': IPTABLES_INPUT },
    });
    process.stderr.write(`vm: self-test run took ${run.durationMs} ms\n`);
    seen = answers(run.output);
  });

  it('runs the whole script in the Debian kernel', () => {
    assert.equal(run.exitCode, 0, `script failed:\n${run.output}`);
    assert.match(run.output, /== done/);
    assert.match(run.output, /^6\.\d+\.\d+-\d+-amd64$/m, 'uname -r should show the Debian kernel');
  });

  it('balances TCP round-robin across both real servers, from the VM itself', () => {
    assert.deepEqual(counts(seen.get('tcp-local')), { 'ep-10': 5, 'ep-11': 5 }, run.output);
  });

  it('balances UDP round-robin across both real servers', () => {
    assert.deepEqual(counts(seen.get('udp-local')), { 'ep-10': 5, 'ep-11': 5 }, run.output);
  });

  it('serves a client in another network namespace over a veth link', () => {
    assert.deepEqual(counts(seen.get('tcp-netns')), { 'ep-10': 3, 'ep-11': 3 }, run.output);
  });

  it('round-trips ipvsadm -Sn through ipvsadm -R, and traffic flows after the restore', () => {
    assert.deepEqual(seen.get('ipvs-roundtrip'), ['same'], run.output);
    assert.match(run.output, /^-A -t 10\.96\.0\.10:80 -s rr$/m);
    assert.match(run.output, /^-a -t 10\.96\.0\.10:80 -r 10\.244\.1\.11:8080 -m -w 1$/m);
    assert.deepEqual(counts(seen.get('tcp-restored')), { 'ep-10': 2, 'ep-11': 2 }, run.output);
  });

  it('loads sets with ipset restore', () => {
    assert.deepEqual(
      seen.get('ipset-set'),
      ['SVP-CLUSTER-IP', 'SVP-LB-SOURCE-CIDR', 'SVP-LOOP-BACK', 'SVP-NODE-PORT-TCP'],
      run.output,
    );
    assert.deepEqual(seen.get('ipset-member'), ['yes']);
    assert.deepEqual(seen.get('ipset-nonmember'), ['yes']);
  });

  it('loads IPVS-mode iptables rules with iptables-restore (nf_tables backend)', () => {
    assert.deepEqual(seen.get('iptables-test'), ['ok'], run.output);
    assert.deepEqual(seen.get('iptables-match-set'), ['ok'], run.output);
    assert.deepEqual(seen.get('iptables-svp-rules'), ['10'], run.output);
    assert.match(run.output, /^iptables v1\.8\.\d+ \(nf_tables\)$/m);
    assert.deepEqual(counts(seen.get('tcp-with-iptables')), { 'ep-10': 2, 'ep-11': 2 }, run.output);
  });

  it('returns the script exit code and output, and passes input files in subfolders', async () => {
    const r = await runInVm('cat /work/input/a/b.txt; echo "to stderr" >&2; exit 7', {
      files: { 'a/b.txt': 'hello from the host\n' },
      timeoutMs: 120_000,
    });
    assert.equal(r.exitCode, 7);
    assert.equal(r.output, 'hello from the host\nto stderr\n');
  });

  it('kills qemu and reports the console log when the run times out', async () => {
    await assert.rejects(runInVm('sleep 600', { timeoutMs: 15_000 }), (err: unknown) => {
      assert.ok(err instanceof VmError, String(err));
      assert.match(err.message, /timed out after 15000 ms; qemu was killed/);
      assert.match(err.message, /console log kept at \S+console\.log/);
      return true;
    });
  });
});
