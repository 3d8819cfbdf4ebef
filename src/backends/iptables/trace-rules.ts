// iptables-save / iptables-restore text -> tables of chains of parsed rules, for
// the iptables interpreter. Only the options our renderers write (and iptables-save
// prints back) are understood; a rule with anything else is a TraceError naming
// the rule, raised when the trace reaches it (other software's chains in a live
// dump are never parsed unless a rule of ours jumps there).

import { TraceError } from '../trace-result.js';

export type Match =
  | { readonly kind: 'src' | 'dst'; readonly not: boolean; readonly cidr: string }
  | { readonly kind: 'iif'; readonly not: boolean; readonly name: string }
  | { readonly kind: 'proto'; readonly proto: string }
  | { readonly kind: 'ctstate'; readonly not: boolean; readonly states: readonly string[] }
  | { readonly kind: 'mark'; readonly not: boolean; readonly value: number; readonly mask: number }
  | { readonly kind: 'addrtype'; readonly not: boolean; readonly dir: 'src' | 'dst'; readonly type: string }
  | { readonly kind: 'random'; readonly probability: string }
  | { readonly kind: 'recent-check'; readonly name: string }
  | { readonly kind: 'recent-set'; readonly name: string }
  | { readonly kind: 'dport'; readonly not: boolean; readonly proto: string; readonly port: number }
  | { readonly kind: 'set'; readonly not: boolean; readonly name: string; readonly dirs: readonly ('src' | 'dst')[] };

export type Target =
  | { readonly kind: 'jump'; readonly chain: string }
  | { readonly kind: 'RETURN' | 'ACCEPT' | 'DROP' | 'REJECT' | 'MASQUERADE' }
  | { readonly kind: 'DNAT'; readonly ip: string; readonly port: number }
  | { readonly kind: 'MARK'; readonly value: number; readonly mask: number };

export interface IptRule {
  readonly chain: string;
  readonly index: number;
  readonly comment?: string;
  readonly matches: readonly Match[];
  readonly target: Target;
  readonly line: string;
}

/** table -> chain -> rule lines (unparsed). */
export type IptDump = Map<string, Map<string, string[]>>;

/** Reads restore input or save output: `*table`, `:CHAIN …`, `-A CHAIN …`, COMMIT. Several dumps may be merged. */
export function readDump(text: string, into: IptDump = new Map()): IptDump {
  let table: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('*')) {
      const name = line.slice(1);
      table = into.get(name) ?? new Map();
      into.set(name, table);
    } else if (line.startsWith(':') && table) {
      const name = line.slice(1).split(' ')[0]!;
      if (!table.has(name)) table.set(name, []);
    } else if (line.startsWith('-A ') && table) {
      const name = line.slice(3).split(' ')[0]!;
      const rules = table.get(name) ?? [];
      rules.push(line);
      table.set(name, rules);
    }
  }
  return into;
}

/** Splits a save line into words; double-quoted strings are one word (iptables-save escapes `"` as `\"`). */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

function hexOrDec(s: string | undefined, where: string): number {
  const n = s === undefined ? NaN : Number(s);
  if (!Number.isInteger(n) || n < 0) throw new TraceError(`iptables: ${where}: not a number: ${JSON.stringify(s)}`);
  return n;
}

/** `VALUE/MASK` (hex) -> numbers. */
function valueMask(s: string | undefined, where: string): { value: number; mask: number } {
  const [v, m] = (s ?? '').split('/');
  return { value: hexOrDec(v, where), mask: m === undefined ? 0xffffffff : hexOrDec(m, where) };
}

/** `IP:PORT` or `[IP6]:PORT`. */
function hostPort(s: string | undefined, where: string): { ip: string; port: number } {
  const m = /^\[(.+)\]:(\d+)$/.exec(s ?? '') ?? /^([^:]+):(\d+)$/.exec(s ?? '');
  if (!m) throw new TraceError(`iptables: ${where}: DNAT needs IP:PORT, not ${JSON.stringify(s)}`);
  return { ip: m[1]!, port: Number(m[2]) };
}

export function parseRule(line: string, index: number): IptRule {
  const w = words(line);
  const chain = w[1]!;
  const where = `${chain}[${index}] \`${line}\``;
  const bad = (what: string): never => {
    throw new TraceError(`iptables: rule ${where}: ${what}`);
  };
  const matches: Match[] = [];
  let comment: string | undefined;
  let target: Target | undefined;
  let module = '';
  let not = false;
  let i = 2;
  const next = () => (i < w.length ? w[i++]! : bad('option without a value'));
  while (i < w.length) {
    const t = w[i++]!;
    if (t === '!') {
      not = true;
      continue;
    }
    const neg = not;
    not = false;
    switch (t) {
      case '-s':
      case '-d':
        matches.push({ kind: t === '-s' ? 'src' : 'dst', not: neg, cidr: next() });
        continue;
      case '-i':
        matches.push({ kind: 'iif', not: neg, name: next() });
        continue;
      case '-p':
        if (neg) bad('! -p');
        matches.push({ kind: 'proto', proto: next() });
        continue;
      case '-m':
        module = next();
        if (!['comment', 'conntrack', 'mark', 'addrtype', 'statistic', 'recent', 'tcp', 'udp', 'sctp', 'set'].includes(module)) bad(`match module ${module}`);
        continue;
      case '-j': {
        const name = next();
        const opts = w.slice(i);
        i = w.length;
        const opt = (o: string) => {
          const k = opts.indexOf(o);
          return k >= 0 ? opts[k + 1] : undefined;
        };
        if (name === 'DNAT') target = { kind: 'DNAT', ...hostPort(opt('--to-destination'), where) };
        else if (name === 'MARK') {
          const x = opt('--set-xmark');
          if (x === undefined) bad('MARK without --set-xmark');
          target = { kind: 'MARK', ...valueMask(x, where) };
        } else if (name === 'RETURN' || name === 'ACCEPT' || name === 'DROP' || name === 'REJECT' || name === 'MASQUERADE') {
          target = { kind: name };
        } else if (opts.length === 0 && /^[A-Za-z0-9_.-]+$/.test(name) && name === name.toUpperCase() && !['SNAT', 'LOG', 'CT', 'NOTRACK'].includes(name)) {
          target = { kind: 'jump', chain: name };
        } else bad(`target ${name}`);
        continue;
      }
    }
    // Options of the current match module.
    if (module === 'comment' && t === '--comment') comment = next();
    else if (module === 'conntrack' && t === '--ctstate') matches.push({ kind: 'ctstate', not: neg, states: next().split(',') });
    else if (module === 'mark' && t === '--mark') matches.push({ kind: 'mark', not: neg, ...valueMask(next(), where) });
    else if (module === 'addrtype' && (t === '--dst-type' || t === '--src-type')) matches.push({ kind: 'addrtype', not: neg, dir: t === '--dst-type' ? 'dst' : 'src', type: next() });
    else if (module === 'statistic' && t === '--mode') {
      if (next() !== 'random') bad('statistic mode other than random');
    } else if (module === 'statistic' && t === '--probability') matches.push({ kind: 'random', probability: next() });
    else if (module === 'recent' && (t === '--rcheck' || t === '--set')) {
      const k = w.indexOf('--name');
      if (k < 0) bad('recent without --name');
      matches.push({ kind: t === '--rcheck' ? 'recent-check' : 'recent-set', name: w[k + 1]! });
    } else if (module === 'recent' && (t === '--seconds' || t === '--name' || t === '--mask')) next();
    else if (module === 'recent' && (t === '--reap' || t === '--rsource')) continue;
    else if ((module === 'tcp' || module === 'udp' || module === 'sctp') && t === '--dport') matches.push({ kind: 'dport', not: neg, proto: module, port: hexOrDec(next(), where) });
    else if (module === 'set' && t === '--match-set') {
      const name = next();
      const dirs = next().split(',');
      if (dirs.some((d) => d !== 'src' && d !== 'dst')) bad(`set flags ${dirs.join(',')}`);
      matches.push({ kind: 'set', not: neg, name, dirs: dirs as ('src' | 'dst')[] });
    } else if (module === 'set' && t === '--update-counters') continue; // whether the set's counters move: no say in the verdict
    else bad(`option ${t}${module ? ` of -m ${module}` : ''}`);
  }
  if (!target) bad('no target');
  return { chain, index, ...(comment !== undefined ? { comment } : {}), matches, target: target!, line };
}
