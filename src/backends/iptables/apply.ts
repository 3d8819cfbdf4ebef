// The only iptables code that touches the kernel. One apply: read our chains back
// with iptables-save, send only the chains that differ with `iptables-restore
// --noflush -w` (one transaction per family: on error nothing changes), then make
// sure the jumps from the built-in chains exist (-C, else -I). A second apply of
// the same input sends nothing. Live rules are never flushed wholesale.

import type { ApplyOptions, ApplyResult } from '../backend.js';
import { ExecError, type Exec } from '../../exec/exec.js';
import { systemExec } from '../../exec/system-exec.js';
import { withNodeFacts } from '../node-facts.js';
import { ensureSysctls } from '../sysctl.js';
import type { IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import { IPSET_MARKER, SECTION_MARKER, parseSavedChains, tableText } from './document.js';
import { diffFamily, type TableDiff } from './diff.js';
import { preserveServices } from './preserve.js';
import { BUILTIN_JUMPS, renderIptables, type AnyTable, type BuiltinJump, type IptChain } from './render.js';
import { SavedTableComparison } from './saved-comparison.js';
import { restorePieces, WHOLE_TABLE_FROM_CHAINS, withWholeTableFetch } from './restore-input.js';
import { iptablesSysctls } from './sysctls.js';
import { renderTrafficSet, TRAFFIC_SET_NAMES, trafficJumps } from './traffic-set.js';
import { diffIpsets, parseIpsetSave } from '../ipset.js';

/**
 * Which iptables the node uses. The same command line drives two kernel back ends:
 * `nft` (iptables-nft, Debian's default `iptables`) and `legacy` (x_tables). A node's
 * rules live in one of them, and each flavour sees only its own, so, like
 * kube-proxy's image (iptables-wrapper), `auto` picks the one that already holds rules
 * (more of them wins; nft when neither has any). SVCPLANE_IPTABLES_MODE overrides.
 */
export type IptablesFlavour = 'auto' | 'nft' | 'legacy';
export const IPTABLES_FLAVOURS: readonly IptablesFlavour[] = ['auto', 'nft', 'legacy'];

interface Tools {
  readonly cmd: string;
  readonly save: string;
  readonly restore: string;
}

function toolsOf(family: IPFamily, flavour: 'default' | 'nft' | 'legacy'): Tools {
  const base = family === 'IPv4' ? 'iptables' : 'ip6tables';
  const cmd = flavour === 'default' ? base : `${base}-${flavour}`;
  return { cmd, save: `${cmd}-save`, restore: `${cmd}-restore` };
}

/** The flavour from SVCPLANE_IPTABLES_MODE (default auto); anything else is refused by name. */
export function flavourFromEnv(env: NodeJS.ProcessEnv = process.env): IptablesFlavour {
  const v = env.SVCPLANE_IPTABLES_MODE ?? 'auto';
  if (!IPTABLES_FLAVOURS.includes(v as IptablesFlavour)) {
    throw new Error(`SVCPLANE_IPTABLES_MODE=${JSON.stringify(v)}: must be one of ${IPTABLES_FLAVOURS.join(', ')}`);
  }
  return v as IptablesFlavour;
}

/** Rule lines (`-A …`) in a save output: how much a flavour holds. */
export function countRules(saved: string): number {
  let n = 0;
  for (const line of saved.split('\n')) if (line.startsWith('-A ')) n++;
  return n;
}

/**
 * Runs the iptables tools here, or in network namespace `netns` (tests), through
 * `exec` (a FakeExec in unit tests). IPVS mode's helper rules use it too, so both
 * follow the node's flavour.
 */
export class IptablesRunner {
  private resolved: Promise<'default' | 'nft' | 'legacy'> | undefined;
  /** Told the process id of every tool this runner starts (the resync's watch tells our commits by it). */
  onSpawn: ((pid: number) => void) | undefined;

  constructor(
    private readonly netns?: string,
    private readonly flavour: IptablesFlavour = flavourFromEnv(),
    private readonly exec: Exec = systemExec,
    /** Tables declaring this many chains get the whole-table fetch (restore-input.ts); tests lower it. */
    private readonly wholeTableFromChains = WHOLE_TABLE_FROM_CHAINS,
  ) {}

  private tool(file: string, args: readonly string[], input?: string | Iterable<string>, stdoutLines?: (line: string) => void) {
    const stdin = input === undefined ? {} : typeof input === 'string' ? { input } : { inputChunks: input };
    return this.exec.run({ file, args, ...(this.netns ? { netns: this.netns } : {}), ...stdin, ...(stdoutLines ? { stdoutLines } : {}), ...(this.onSpawn ? { onSpawn: this.onSpawn } : {}) });
  }

  /** Whether the tools are iptables-nft (decided once per runner): only then does nft see what they hold. */
  async usesNft(): Promise<boolean> {
    this.resolved ??= this.resolve();
    return (await this.resolved) === 'nft';
  }

  /** The tool's stdout ('' when streamed to `stdoutLines`); an ExecError (naming the command and its stderr) when it fails. */
  private async checked(file: string, args: readonly string[], input?: string | Iterable<string>, stdoutLines?: (line: string) => void): Promise<string> {
    const r = await this.tool(file, args, input, stdoutLines);
    if (r.exitCode !== 0) throw new ExecError({ file, args, ...(this.netns ? { netns: this.netns } : {}) }, r);
    return r.stdout;
  }

  /** The flavour in use, decided once per runner. */
  private async tools(family: IPFamily): Promise<Tools> {
    this.resolved ??= this.resolve();
    return toolsOf(family, await this.resolved);
  }

  private async resolve(): Promise<'default' | 'nft' | 'legacy'> {
    if (this.flavour !== 'auto') return this.flavour;
    const count = async (tool: string) => {
      const r = await this.tool(tool, []);
      return r.exitCode === 0 ? countRules(r.stdout) : -1;
    };
    const [legacy, nft] = await Promise.all([count('iptables-legacy-save'), count('iptables-nft-save')]);
    // Neither tool installed under its flavoured name: the plain `iptables` is all there is.
    if (legacy < 0 && nft < 0) return 'default';
    return legacy > nft ? 'legacy' : nft >= 0 ? 'nft' : 'legacy';
  }

  /** Our chains in one table, as iptables-save prints them. */
  async savedChains(family: IPFamily, table: AnyTable): Promise<Map<string, string[]>> {
    const t = await this.tools(family);
    return parseSavedChains(await this.checked(t.save, ['-t', table]), table);
  }

  /**
   * Our chains in one table, each told equal or not to the chain of its name in `desired`,
   * compared as iptables-save prints them (saved-comparison.ts): the save output is read a
   * line at a time, never held (a full sync's read-back at 10k Services: ~80 MB less).
   */
  async compareSaved(family: IPFamily, table: AnyTable, desired: readonly IptChain[] | ReadonlyMap<string, IptChain>): Promise<Map<string, boolean>> {
    const t = await this.tools(family);
    const comparison = new SavedTableComparison(table, desired);
    await this.checked(t.save, ['-t', table], undefined, (line) => comparison.line(line));
    return comparison.result();
  }

  /**
   * `nft list chains` (every family's tables, each chain's name and hook, no rule) a line
   * at a time into `line`: under iptables-nft, the names of every chain iptables holds, at a
   * small part of iptables-save's cost (README.md, "The resync's cheap check"). false when it
   * cannot tell: the legacy flavour (x_tables, which nft does not see), an unknown flavour,
   * or no nft here.
   */
  async listChains(line: (line: string) => void): Promise<boolean> {
    if (!(await this.usesNft())) return false;
    return (await this.tool('nft', ['list', 'chains'], undefined, line)).exitCode === 0;
  }

  /** `iptables -w -t TABLE -S CHAIN`: its rules as iptables-save prints them; undefined when the chain does not exist (or cannot be listed). */
  async listChain(family: IPFamily, table: AnyTable, chain: string): Promise<string | undefined> {
    const t = await this.tools(family);
    const r = await this.tool(t.cmd, ['-w', '-t', table, '-S', chain]);
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  /**
   * compareSaved's answer from `iptables -w -t TABLE -S` (that table only) instead of
   * iptables-save, which under iptables-nft fetches every table: at 10k Services
   * `iptables-save -t filter` cost as much as nat's read-back, `-t filter -S` a tenth of it
   * (README.md, "The resync's cheap check"). For the small filter table at a resync.
   */
  async compareListed(family: IPFamily, table: AnyTable, desired: readonly IptChain[]): Promise<Map<string, boolean>> {
    const t = await this.tools(family);
    const comparison = new SavedTableComparison(table, desired);
    comparison.line(`*${table}`);
    // -S prints `-N CHAIN` where iptables-save prints `:CHAIN - [0:0]`; rules alike.
    await this.checked(t.cmd, ['-w', '-t', table, '-S'], undefined, (line) => comparison.line(line.startsWith('-N ') ? `:${line.slice(3)} - [0:0]` : line));
    return comparison.result();
  }

  /** `ipset list -t`: every set's header (with its entry count), no element; undefined when ipset fails. */
  async ipsetHeaders(): Promise<string | undefined> {
    const r = await this.tool('ipset', ['list', '-t']);
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  /**
   * `*-restore --noflush -w` with `text` on stdin (or `--test`: parse and check only).
   * iptables-nft gets a large transaction with a whole-table fetch first (restore-input.ts:
   * without it, loading 10k Services takes minutes); what that prints is dropped.
   */
  async restore(family: IPFamily, text: string, test = false): Promise<void> {
    const t = await this.tools(family);
    const args = test ? ['--test', '--noflush', '-w'] : ['--noflush', '-w'];
    await this.checked(t.restore, args, (await this.resolved) === 'legacy' ? text : withWholeTableFetch(text, this.wholeTableFromChains));
  }

  /** `*-restore --noflush -w` of what changed in `tables`, written to the tool piece by piece (never one string). */
  async restoreTables(family: IPFamily, tables: readonly TableDiff[]): Promise<void> {
    const t = await this.tools(family);
    await this.checked(t.restore, ['--noflush', '-w'], restorePieces(tables, (await this.resolved) !== 'legacy', this.wholeTableFromChains));
  }

  /** `ipset ARGS…` (stdin `input`, a string or pieces) in the runner's namespace; its stdout, an ExecError when it fails. */
  ipset(args: readonly string[], input?: string | Iterable<string>): Promise<string> {
    return this.checked('ipset', args, input);
  }

  /** `ipset save`; undefined when ipset cannot run here (no tool, no kernel support): no traffic set then. */
  async ipsetSave(): Promise<string | undefined> {
    const r = await this.tool('ipset', ['save']);
    return r.exitCode === 0 ? r.stdout : undefined;
  }

  /** `iptables -w -t TABLE OP CHAIN RULE…`; the exit code. */
  async rule(family: IPFamily, table: AnyTable, op: '-C' | '-I' | '-D', chain: string, rule: readonly string[]): Promise<{ code: number; stderr: string; cmd: string }> {
    const t = await this.tools(family);
    const pos = op === '-I' ? [chain, '1'] : [chain];
    const r = await this.tool(t.cmd, ['-w', '-t', table, op, ...pos, ...rule]);
    return { code: r.exitCode, stderr: r.stderr, cmd: t.cmd };
  }
}

/** Everything apply inserts into the built-in chains of one family: the jumps, then the traffic set's counting rules (no verdict: their order is moot). */
export function builtinJumps(family: IPFamily): BuiltinJump[] {
  return [...BUILTIN_JUMPS, ...trafficJumps(family)];
}

/**
 * Makes sure each built-in chain jumps to ours (iptables mode's, or `jumps`: IPVS mode's
 * hooks); returns how many jumps were (or would be) inserted.
 */
export async function ensureJumps(run: IptablesRunner, family: IPFamily, dryRun: boolean, jumps: readonly BuiltinJump[] = BUILTIN_JUMPS): Promise<number> {
  let inserted = 0;
  // Inserted at position 1 (ours come first in each built-in chain), one at a time in list
  // order: BUILTIN_JUMPS puts the jumps that DNAT last, so no moment DNATs without masquerading.
  for (const j of jumps) {
    const check = await run.rule(family, j.table, '-C', j.chain, j.rule);
    if (check.code === 0) continue;
    inserted++;
    if (dryRun) continue;
    const ins = await run.rule(family, j.table, '-I', j.chain, j.rule);
    if (ins.code !== 0) throw new Error(`${ins.cmd} -t ${j.table} -I ${j.chain} failed: ${ins.stderr.trim()}`);
  }
  return inserted;
}

/** Where apply runs: the current namespace (reads its addresses, sets sysctls), or a test namespace through `run` only. */
export interface ApplyTarget {
  readonly run: IptablesRunner;
  /** Read this namespace's addresses and set its sysctls (false in tests that drive another namespace). */
  readonly host: boolean;
}

export async function applyIptables(
  input: RenderInput,
  options: ApplyOptions = {},
  target: ApplyTarget = { run: new IptablesRunner(), host: true },
): Promise<ApplyResult> {
  const { run, host } = target;
  const full = host ? { ...input, node: await withNodeFacts(input.node) } : input;
  const dryRun = options.dryRun ?? false;
  if (!dryRun && host) await ensureSysctls(iptablesSysctls(full));
  let changes = 0;
  let transaction = '';
  const keep = options.preserveServices ?? [];
  // Rendered before any tool runs: a render that fails changes nothing.
  const rendered = renderIptables(full);
  const traffic = rendered.map((t) => renderTrafficSet(full, t.family));
  // The traffic set: elements added before the rules, removed after (a skipped Service keeps its own).
  const saved = await run.ipsetSave();
  const sets = saved === undefined ? undefined : parseIpsetSave(saved);
  const setDiff = sets ? diffIpsets(traffic, sets) : { rebuild: [], adds: [], dels: [] };
  const setDels = keep.length ? [] : setDiff.dels;
  const sendSets = async (lines: readonly string[]) => {
    if (lines.length === 0) return;
    transaction += `${IPSET_MARKER}\n${lines.join('\n')}\n`;
    changes += lines.length;
    if (!dryRun) await run.ipset(['restore'], lines.join('\n') + '\n');
  };
  await sendSets([...setDiff.rebuild, ...setDiff.adds]);
  for (const desired of rendered) {
    const f = desired.family;
    const live = { filter: await run.savedChains(f, 'filter'), nat: await run.savedChains(f, 'nat') };
    // Services whose input was skipped as malformed keep exactly what the kernel has for them.
    const wanted = { ...desired, filter: preserveServices(desired.filter, live.filter, keep), nat: preserveServices(desired.nat, live.nat, keep) };
    const d = diffFamily(wanted, live);
    if (d.text !== '') {
      transaction += `${SECTION_MARKER[f]}\n${d.text}`;
      if (!dryRun) await run.restore(f, d.text);
    }
    changes += d.changes + (await ensureJumps(run, f, dryRun, sets ? builtinJumps(f) : BUILTIN_JUMPS));
  }
  await sendSets(setDels);
  return { changes, transaction };
}

/** Removes every copy of our jumps from the built-in chains (iptables mode's, or `jumps`); returns how many went. */
export async function removeJumps(run: IptablesRunner, family: IPFamily, jumps: readonly BuiltinJump[] = BUILTIN_JUMPS): Promise<number> {
  let removed = 0;
  // In reverse: the jumps that DNAT go first (BUILTIN_JUMPS), masquerading last.
  for (const j of [...jumps].reverse()) {
    // -D removes one copy; loop in case a jump was added twice by hand.
    for (let i = 0; i < 10 && (await run.rule(family, j.table, '-C', j.chain, j.rule)).code === 0; i++) {
      if ((await run.rule(family, j.table, '-D', j.chain, j.rule)).code === 0) removed++;
    }
  }
  return removed;
}

/** Removes our jumps, counting rules, chains (both families) and traffic sets, and nothing else; returns how many chains and sets went. */
export async function cleanupIptables(run = new IptablesRunner()): Promise<number> {
  let removed = 0;
  for (const family of ['IPv4', 'IPv6'] as const) {
    await removeJumps(run, family, builtinJumps(family));
    let text = '';
    for (const table of ['filter', 'nat'] as const) {
      const names = [...(await run.savedChains(family, table)).keys()].sort();
      if (names.length === 0) continue;
      removed += names.length;
      text += tableText(table, [], names);
    }
    if (text) await run.restore(family, text);
  }
  // After the rules that match them are gone (a set in use cannot be destroyed).
  const saved = await run.ipsetSave();
  for (const name of saved === undefined ? [] : parseIpsetSave(saved).keys()) {
    if (!TRAFFIC_SET_NAMES.includes(name)) continue;
    await run.ipset(['destroy', name]);
    removed++;
  }
  return removed;
}
