// Checks that the e2e test bed can run here, and fails loudly (never skips) when it cannot:
// root, the tools, and br_netfilter (pod -> Service -> pod on one bridge needs
// bridge-nf-call-iptables inside the node namespaces).

import { access, constants } from 'node:fs/promises';
import { execa } from 'execa';

/** Tools the test bed itself needs. Backends add theirs with requireTools. */
export const BASE_TOOLS = ['ip', 'sysctl', 'nft'] as const;

let basePromise: Promise<void> | null = null;

/** Throws an Error saying exactly what is missing. Cached: runs once per process. */
export function assertTestbedPrerequisites(): Promise<void> {
  basePromise ??= checkBase();
  return basePromise;
}

async function checkBase(): Promise<void> {
  if (process.platform !== 'linux') {
    throw new Error(`e2e test bed needs Linux network namespaces; this is ${process.platform}`);
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(
      `e2e test bed must run as root (uid 0) to create network namespaces; running as uid ${process.getuid()}. ` +
        'Run the tests with sudo, as CI does.',
    );
  }
  await requireTools(BASE_TOOLS);
  await ensureBrNetfilter();
}

/** Throws unless every tool is on PATH (checked with `which`-like lookup, no shell). */
export async function requireTools(tools: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const tool of tools) {
    if (!(await onPath(tool))) missing.push(tool);
  }
  if (missing.length > 0) {
    throw new Error(
      `e2e test bed: missing tool(s) on PATH: ${missing.join(', ')}. ` +
        'Install iproute2, nftables, iptables, ipset, conntrack and procps (CI does).',
    );
  }
}

async function onPath(tool: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (dir === '') continue;
    try {
      await access(`${dir}/${tool}`, constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

/**
 * The bridge-nf-call-* sysctls exist only while br_netfilter is loaded (built in or as a
 * module). Load it with modprobe if needed; if that is impossible, say so loudly.
 */
async function ensureBrNetfilter(): Promise<void> {
  const sysctl = '/proc/sys/net/bridge/bridge-nf-call-iptables';
  if (await exists(sysctl)) return;
  if (await onPath('modprobe')) {
    const res = await execa('modprobe', ['br_netfilter'], { reject: false });
    if (res.exitCode === 0 && (await exists(sysctl))) return;
    throw new Error(
      `e2e test bed: br_netfilter is not loaded and 'modprobe br_netfilter' failed: ${String(res.stderr).trim()}. ` +
        'Without it, pod -> Service -> pod on the same bridge cannot be tested.',
    );
  }
  throw new Error(
    `e2e test bed: ${sysctl} is missing (br_netfilter not loaded) and there is no modprobe to load it. ` +
      'Load br_netfilter on the host: pod -> Service -> pod on the same bridge cannot be tested without it.',
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}
