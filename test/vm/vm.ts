// The IPVS test VM: Debian's stock kernel (which has ip_vs) booted under qemu/TCG with a
// busybox initramfs carrying ipvsadm, ipset, iptables-nft, ip, nft, conntrack and socat.
// See README.md in this folder. Import from here.

export { prepareVmAssets, vmCacheRoot, type VmAssets } from './assets.js';
export { runInVm, runArchive, VmError, type RunInVmOptions, type VmResult } from './run.js';
