// The shell that builds the VM's pods: a bridge on the node, one namespace per pod on
// a veth into it, each running a socat echo server that answers with its name and
// the peer address it saw. Shared by the IPVS VM tests.

export function podsScript(o: { bridgeIP: string; pods: readonly number[]; port: number }): string {
  return String.raw`echo "== topology"
ip link add br0 type bridge
ip addr add ${o.bridgeIP}/24 dev br0
ip link set br0 up
for i in ${o.pods.join(' ')}; do
  ip netns add pod$i
  ip link add veth$i type veth peer name eth0 netns pod$i
  ip link set veth$i master br0 up
  ip netns exec pod$i ip link set lo up
  ip netns exec pod$i ip addr add 10.244.1.$i/24 dev eth0
  ip netns exec pod$i ip link set eth0 up
  ip netns exec pod$i ip route add default via ${o.bridgeIP}
  ip netns exec pod$i socat TCP4-LISTEN:${o.port},bind=10.244.1.$i,fork,reuseaddr SYSTEM:"echo ep-$i \$SOCAT_PEERADDR" &
done`;
}

/** A `client` namespace on a veth to the node (the node side holds `nodeIP`/24), with these addresses and a default route via the node. */
export function clientScript(o: { nodeIP: string; clientIPs: readonly string[] }): string {
  return String.raw`ip netns add client
ip link add to-client type veth peer name eth0 netns client
ip addr add ${o.nodeIP}/24 dev to-client
ip link set to-client up
ip netns exec client ip link set lo up
${o.clientIPs.map((ip) => `ip netns exec client ip addr add ${ip}/24 dev eth0`).join('\n')}
ip netns exec client ip link set eth0 up
ip netns exec client ip route add default via ${o.nodeIP}`;
}

/** Waits (5 s at most each) until every pod's echo server listens; else prints FAIL and exits 1. */
export function waitForPodsScript(o: { pods: readonly number[]; port: number }): string {
  return String.raw`for i in ${o.pods.join(' ')}; do
  n=0
  until ip netns exec pod$i netstat -lnt | grep -q " 10.244.1.$i:${o.port} "; do
    n=$((n+1)); [ $n -lt 50 ] || { echo "FAIL: pod$i has no server"; exit 1; }; sleep 0.1
  done
done`;
}
