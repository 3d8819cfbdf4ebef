// Which kernel modules the test VM loads at boot, and how their dependencies are resolved
// from the modules.dep that depmod writes for the unpacked Debian kernel.
//
// Everything is loaded up front, in this order, by the VM's /init with busybox modprobe:
// busybox modprobe ignores soft dependencies (crc32c before ip_vs/libcrc32c) and does not
// serve the kernel's module auto-loading requests reliably, so nothing is left to chance.

/** Modules /init loads, in order. A module built into the kernel is skipped. */
export const VM_MODULES: readonly string[] = [
  // libcrc32c's soft dependency, which busybox modprobe does not follow.
  'crc32c_generic',
  'libcrc32c',
  'nf_defrag_ipv4',
  'nf_defrag_ipv6',
  'nf_conntrack',
  'nf_nat',
  // IPVS and every scheduler kube-proxy's --ipvs-scheduler accepts (and a few more).
  'ip_vs',
  'ip_vs_rr',
  'ip_vs_wrr',
  'ip_vs_lc',
  'ip_vs_wlc',
  'ip_vs_lblc',
  'ip_vs_lblcr',
  'ip_vs_dh',
  'ip_vs_sh',
  'ip_vs_sed',
  'ip_vs_nq',
  'ip_vs_mh',
  'ip_vs_fo',
  'ip_vs_ovf',
  // ipset: every set type kube-proxy's IPVS mode creates, and their neighbours.
  'ip_set',
  'ip_set_hash_ip',
  'ip_set_hash_ipport',
  'ip_set_hash_ipportip',
  'ip_set_hash_ipportnet',
  'ip_set_hash_net',
  'ip_set_hash_netport',
  'ip_set_hash_netiface',
  'ip_set_bitmap_ip',
  'ip_set_bitmap_port',
  'ip_set_list_set',
  // nf_tables, for iptables-nft (the host's iptables backend) and nft itself.
  'nf_tables',
  'nft_compat',
  'nft_chain_nat',
  'nft_ct',
  'nft_nat',
  'nft_masq',
  'nft_redir',
  'nft_reject',
  'nft_reject_inet',
  'nft_reject_ipv4',
  'nft_reject_ipv6',
  'nft_fib',
  'nft_fib_inet',
  'nft_fib_ipv4',
  'nft_fib_ipv6',
  'nft_numgen',
  'nft_hash',
  'nft_limit',
  // xtables matches and targets that iptables-nft runs through nft_compat.
  'x_tables',
  'xt_tcpudp',
  'xt_comment',
  'xt_mark',
  'xt_MASQUERADE',
  'xt_nat',
  'xt_addrtype',
  'xt_conntrack',
  'xt_state',
  'xt_set',
  'xt_multiport',
  'xt_statistic',
  'xt_recent',
  'xt_physdev',
  'xt_limit',
  'xt_CT',
  'ipt_REJECT',
  'ip6t_REJECT',
  // Interfaces a test builds: kube-ipvs0-style dummy, veth pairs, a bridge with netfilter.
  'dummy',
  'veth',
  'bridge',
  'br_netfilter',
  'sctp',
  // virtio-9p, for runInVm's hostFs option (the host's files, read-only, at /host):
  // the transport, 9p itself and what Debian 6.1's 9p needs (netfs, fscache).
  'virtio_pci',
  '9pnet',
  '9pnet_virtio',
  'netfs',
  'fscache',
  '9p',
];

/** Module name as the kernel knows it: file base name without .ko*, dashes as underscores. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1).replace(/\.ko(\.[a-z]+)?$/, '');
  return base.replace(/-/g, '_');
}

export interface ModuleIndex {
  /** Module name -> path relative to lib/modules/<kver>/. */
  readonly paths: ReadonlyMap<string, string>;
  /** Module name -> names of the modules it needs (hard dependencies, from modules.dep). */
  readonly deps: ReadonlyMap<string, readonly string[]>;
  /** Names of modules built into the kernel (modules.builtin). */
  readonly builtin: ReadonlySet<string>;
}

/** Parses depmod's modules.dep and the package's modules.builtin. */
export function parseModuleIndex(modulesDep: string, modulesBuiltin: string): ModuleIndex {
  const paths = new Map<string, string>();
  const deps = new Map<string, string[]>();
  for (const line of modulesDep.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const path = line.slice(0, colon).trim();
    const name = moduleName(path);
    paths.set(name, path);
    deps.set(
      name,
      line.slice(colon + 1).trim().split(/\s+/).filter(Boolean).map(moduleName),
    );
  }
  const builtin = new Set(
    modulesBuiltin.split('\n').map((l) => l.trim()).filter(Boolean).map(moduleName),
  );
  return { paths, deps, builtin };
}

/**
 * The wanted modules and everything they need, dependencies before dependants, built-ins
 * left out. Throws naming every wanted module the kernel has neither as a file nor built in.
 */
export function resolveModules(index: ModuleIndex, wanted: readonly string[]): string[] {
  const missing = wanted.filter((m) => !index.paths.has(m) && !index.builtin.has(m));
  if (missing.length > 0) {
    throw new Error(`kernel package lacks module(s): ${missing.join(', ')}`);
  }
  const out: string[] = [];
  const done = new Set<string>();
  const visit = (name: string): void => {
    if (done.has(name) || !index.paths.has(name)) return;
    done.add(name);
    for (const dep of index.deps.get(name) ?? []) visit(dep);
    out.push(name);
  };
  for (const m of wanted) visit(m);
  return out;
}
