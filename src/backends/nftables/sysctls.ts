// Sysctls the nftables mode needs on a node (see README.md in this folder). Apart
// from apply.ts so that the backend object can answer without loading its I/O half.

export const NFTABLES_SYSCTLS: Record<string, string> = {
  // Service traffic to remote endpoints is forwarded.
  'net/ipv4/ip_forward': '1',
  'net/ipv6/conf/all/forwarding': '1',
};
