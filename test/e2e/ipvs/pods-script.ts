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
