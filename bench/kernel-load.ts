// The kernel tools alone loading a whole rendered ruleset into a namespace, under a
// time limit (`timeout`: past it the tool is killed and the load reported as not
// finished). Shared by the control-plane measurements and the data-plane topology.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flavourFromEnv } from '../src/backends/iptables/apply.js';
import { documentSection } from '../src/backends/iptables/document.js';
import { withWholeTableFetch } from '../src/backends/iptables/restore-input.js';
import { systemExec } from '../src/exec/system-exec.js';

export interface LoadResult {
  ms: number;
  finished: boolean;
}

const seconds = (ms: number) => `${Math.max(1, ms / 1000).toFixed(1)}`;

/**
 * The iptables tool of the flavour the backend runs with (SVCPLANE_IPTABLES_MODE): in the
 * bench's fresh namespaces `auto` finds no rules and takes nft, the plain `iptables`.
 */
export function iptablesTool(base: 'iptables' | 'ip6tables', tool: 'restore' | 'save'): string {
  const f = flavourFromEnv();
  return f === 'auto' ? `${base}-${tool}` : `${base}-${f}-${tool}`;
}

/**
 * `iptables-restore --noflush -w`, then `ip6tables-restore`, on the document's sections,
 * as the backend sends them (iptables-nft gets the whole-table fetch first, restore-input.ts).
 */
export async function restoreAlone(ns: string, doc: string, limitMs: number): Promise<LoadResult> {
  const started = performance.now();
  for (const [family, tool] of [['IPv4', iptablesTool('iptables', 'restore')], ['IPv6', iptablesTool('ip6tables', 'restore')]] as const) {
    const left = limitMs - (performance.now() - started);
    const section = documentSection(doc, family);
    const stdin = tool.includes('legacy') ? { input: section } : { inputChunks: withWholeTableFetch(section) };
    const r = await systemExec.run({ file: 'timeout', args: [seconds(left), 'ip', 'netns', 'exec', ns, tool, '--noflush', '-w'], ...stdin });
    if (r.exitCode === 124) return { ms: performance.now() - started, finished: false };
    if (r.exitCode !== 0) throw new Error(`${tool} in ${ns} failed: ${r.stderr.trim()}`);
  }
  return { ms: performance.now() - started, finished: true };
}

/** `nft -j -f FILE` of the whole rendered (JSON) document. */
export async function nftFileAlone(ns: string, doc: string, limitMs: number): Promise<LoadResult> {
  const dir = await mkdtemp(join(tmpdir(), 'svp-bench-'));
  try {
    const path = join(dir, 'ruleset.json');
    await writeFile(path, doc);
    const started = performance.now();
    const r = await systemExec.run({ file: 'timeout', args: [seconds(limitMs), 'ip', 'netns', 'exec', ns, 'nft', '-j', '-f', path], input: '' });
    const ms = performance.now() - started;
    if (r.exitCode === 124) return { ms, finished: false };
    if (r.exitCode !== 0) throw new Error(`nft -j -f in ${ns} failed: ${r.stderr.trim()}`);
    return { ms, finished: true };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
