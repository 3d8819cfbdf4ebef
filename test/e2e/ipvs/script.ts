// Builds the one VM run of the IPVS end-to-end test: the input files (rendered on the
// host) and the dash script that builds the topology of scenario.ts, applies step A
// and then step B's increment with the tools and flags src/backends/ipvs/apply.ts
// uses, in its order, and prints section markers ("== <name>") the test parses.

import { IPVS_SYSCTLS } from '../../../src/backends/ipvs/apply.js';
import { SECTION, splitSections } from '../../../src/backends/ipvs/document.js';
import { HOOKS } from '../../../src/backends/ipvs/iptables-rules.js';
import { DUMMY_INTERFACE } from '../../../src/backends/ipvs/ruleset.js';
import { BRIDGE_IP, CLIENT_IPS, EMPTY, LOCAL, NODE_IP, NP, PODS, POD_PORT, STICKY, WEB } from './scenario.js';
import { clientScript, podsScript, waitForPodsScript } from './pods-script.js';

/** Step B as apply would send it after step A: computed on the host from the two renders. */
export interface Increment {
  readonly addressAdds: readonly string[];
  readonly addressDels: readonly string[];
  readonly ipsetAdds: readonly string[];
  readonly ipvs: readonly string[];
  readonly ipsetDels: readonly string[];
}

/** How many connections each check makes (TCG: ~0.3 s each). */
export const COUNTS = { web: 12, np: 8, sticky: 8, empty: 2, local: 6, webB: 8, npB: 4, stickyB: 2, emptyB: 4 } as const;

const lines = (xs: readonly string[]) => (xs.length ? xs.join('\n') + '\n' : '');

export function vmFiles(docA: string, inc: Increment): Record<string, string> {
  const s = splitSections(docA);
  const get = (k: string) => {
    const t = s.get(k);
    if (t === undefined) throw new Error(`rendered document has no section ${JSON.stringify(k)}`);
    return t;
  };
  return {
    'a/addresses': get(SECTION.addresses),
    'a/ipset4': get(SECTION.ipset4),
    'a/iptables4': get(SECTION.iptables4),
    'a/ipset6': get(SECTION.ipset6),
    'a/iptables6': get(SECTION.iptables6),
    'a/ipvs': get(SECTION.ipvs),
    'b/addr-add': lines(inc.addressAdds),
    'b/addr-del': lines(inc.addressDels),
    'b/ipset-adds': lines(inc.ipsetAdds),
    'b/ipvs': lines(inc.ipvs),
    'b/ipset-dels': lines(inc.ipsetDels),
  };
}

// apply.ts: ensureSysctls(IPVS_SYSCTLS), then the hooks after iptables-restore, with
// `-w -C <builtin> -t <table> ...` and `-w -I` when missing, for both families.
export const SYSCTLS_SCRIPT = Object.entries(IPVS_SYSCTLS)
  .map(([k, v]) => `echo ${v} > /proc/sys/${k}`)
  .join('\n');
export const HOOKS_SCRIPT = (['iptables', 'ip6tables'] as const)
  .flatMap((tool) =>
    HOOKS.map(([table, builtin, chain]) => {
      const rule = `-t ${table} -m comment --comment svcplane -j ${chain}`;
      return `${tool} -w -C ${builtin} ${rule} 2>/dev/null || ${tool} -w -I ${builtin} ${rule}`;
    }),
  )
  .join('\n');

const loop = (n: number, cmd: string) => `for i in $(seq ${n}); do ${cmd}; done`;
const [C1, C2] = CLIENT_IPS;

export const VM_SCRIPT = String.raw`
set -eu
fail() { echo "FAIL: $*"; exit 1; }
in=/work/input
# probe LABEL TARGET [SOURCE]: one TCP connection from the client namespace; prints
# "LABEL ep-<i> <peer the pod saw>", "LABEL refused" or "LABEL failed <why>".
probe() {
  label=$1; target=$2; src=${"${3:-}"}
  out=$(ip netns exec client socat -T2 - "TCP4:$target${"${src:+,bind=$src}"}" </dev/null 2>&1) || true
  case "$out" in
    ep-*) echo "$label $out" ;;
    *"Connection refused"*) echo "$label refused" ;;
    *) echo "$label failed $(echo "$out" | tr '\n' ' ')" ;;
  esac
}

${podsScript({ bridgeIP: BRIDGE_IP, pods: PODS, port: POD_PORT })}
${clientScript({ nodeIP: NODE_IP, clientIPs: [C1, C2] })}
${waitForPodsScript({ pods: PODS, port: POD_PORT })}

echo "== A apply"
# apply.ts order: sysctls, dummy interface + addresses, ipset adds, iptables + hooks, ipvsadm -R.
${SYSCTLS_SCRIPT}
ip link add ${DUMMY_INTERFACE} type dummy
ip link set ${DUMMY_INTERFACE} up
while read -r a; do ip addr add "$a" dev ${DUMMY_INTERFACE}; done < $in/a/addresses
ipset restore < $in/a/ipset4
ipset restore < $in/a/ipset6
iptables-restore --noflush -w < $in/a/iptables4
ip6tables-restore --noflush -w < $in/a/iptables6
${HOOKS_SCRIPT}
ipvsadm -R < $in/a/ipvs
echo "== A ipvsadm"
ipvsadm -Sn
echo "== A ipset"
ipset save
echo "== A iptables"
iptables-save -t mangle
iptables-save -t nat
iptables-save -t filter
echo "== A ip6tables"
ip6tables-save -t mangle
ip6tables-save -t nat
ip6tables-save -t filter
echo "== A addresses"
ip -o addr show dev ${DUMMY_INTERFACE} scope global | sed -n 's/.* inet6\{0,1\} \([^ ]*\) .*/\1/p'

echo "== A traffic"
${loop(COUNTS.web, `probe web ${WEB.ip}:80`)}
${loop(COUNTS.np, `probe np ${NODE_IP}:${NP.nodePort}`)}
${loop(COUNTS.sticky, `probe sticky-1 ${STICKY.ip}:80 ${C1}`)}
${loop(COUNTS.sticky, `probe sticky-2 ${STICKY.ip}:80 ${C2}`)}
${loop(COUNTS.empty, `probe empty ${EMPTY.ip}:80`)}
${loop(COUNTS.local, `probe local ${NODE_IP}:${LOCAL.nodePort}`)}

echo "== B apply"
# Only the increment, in apply.ts order: addresses, ipset adds, (iptables unchanged), ipvsadm -R, ipset dels.
while read -r a; do ip addr add "$a" dev ${DUMMY_INTERFACE}; done < $in/b/addr-add
while read -r a; do ip addr del "$a" dev ${DUMMY_INTERFACE}; done < $in/b/addr-del
[ ! -s $in/b/ipset-adds ] || ipset restore < $in/b/ipset-adds
[ ! -s $in/b/ipvs ] || ipvsadm -R < $in/b/ipvs
[ ! -s $in/b/ipset-dels ] || ipset restore < $in/b/ipset-dels
echo "== B ipvsadm"
ipvsadm -Sn
echo "== B ipset"
ipset save
echo "== B addresses"
ip -o addr show dev ${DUMMY_INTERFACE} scope global | sed -n 's/.* inet6\{0,1\} \([^ ]*\) .*/\1/p'

echo "== B traffic"
${loop(COUNTS.webB, `probe web ${WEB.ip}:80`)}
${loop(COUNTS.npB, `probe np ${NODE_IP}:${NP.nodePort}`)}
${loop(COUNTS.stickyB, `probe sticky ${STICKY.ip}:80`)}
${loop(COUNTS.emptyB, `probe empty ${EMPTY.ip}:80`)}
echo "== done"
`;
