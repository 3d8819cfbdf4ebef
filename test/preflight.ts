// `npm test` runs this first: it names every tool the suite needs that this machine
// lacks, all at once, with the Debian package that brings it, instead of letting the
// suite fail one file at a time (or, for the VM, minutes in). Exit 1 when anything is
// missing; README lists the same packages beside `npm test`, and .ci/run installs them.

import { accessSync, constants, existsSync } from 'node:fs';

/** Tool on PATH -> the Debian package that provides it. */
export const TEST_TOOLS: Readonly<Record<string, string>> = {
  ip: 'iproute2',
  sysctl: 'procps',
  nft: 'nftables',
  iptables: 'iptables',
  'iptables-save': 'iptables',
  'iptables-restore': 'iptables',
  'ip6tables-save': 'iptables',
  'iptables-legacy': 'iptables',
  ipset: 'ipset',
  ipvsadm: 'ipvsadm',
  conntrack: 'conntrack',
  modprobe: 'kmod',
  depmod: 'kmod',
  'qemu-system-x86_64': 'qemu-system-x86',
  busybox: 'busybox-static',
  socat: 'socat',
  'apt-get': 'apt',
  'dpkg-deb': 'dpkg',
  ldd: 'libc-bin',
  git: 'git',
  python3: 'python3',
  curl: 'curl',
  capsh: 'libcap2-bin',
  podman: 'podman',
  runc: 'runc',
  mmdebstrap: 'mmdebstrap',
};

function onPath(tool: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir === '') continue;
    try {
      accessSync(`${dir}/${tool}`, constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

/** Every problem that keeps the suite from running here, one a line; empty when none. */
export function testPrerequisiteProblems(): string[] {
  const problems: string[] = [];
  if (process.platform !== 'linux') problems.push(`network namespaces need Linux; this is ${process.platform}`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) problems.push(`the e2e tests must run as root (uid is ${process.getuid()})`);
  const missing = Object.entries(TEST_TOOLS).filter(([tool]) => !onPath(tool));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, pkg]) => pkg))].sort();
    problems.push(`missing tools: ${missing.map(([t]) => t).join(', ')} (apt-get install ${pkgs.join(' ')})`);
  }
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables') && !onPath('modprobe')) {
    problems.push('br_netfilter is not loaded and there is no modprobe to load it (pod -> Service -> pod on one bridge needs it)');
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = testPrerequisiteProblems();
  if (problems.length > 0) {
    process.stderr.write(`npm test cannot run on this machine:\n${problems.map((p) => `  - ${p}`).join('\n')}\n(.ci/run installs all of it on Debian)\n`);
    process.exit(1);
  }
}
