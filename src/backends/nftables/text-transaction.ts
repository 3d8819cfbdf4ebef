// An incremental transaction in nft's text syntax, written so that nft 1.0.6 need not
// fetch every chain of the namespace before it commits (src/backends/nftables/README.md,
// "Per-change cost without nft's chain cache"). nft picks what to fetch from the command
// kinds (src/cache.c, nft_cache_evaluate): `add rule`, `add element` and any `delete`
// make it dump every chain of every table (~0.95 MB at 10k Services, most of an element's
// cost); `flush chain` fetches nothing, and `add chain` / `add set` only the table list.
// So the same change is written as:
//
//   flush chain T C                      (as in JSON)
//   add set T S { <S's declaration> }    (each set the rules name, so nft knows its type)
//   add chain T C { rule; rule; ... }    (instead of one `add rule` per rule)
//   add set T S { <decl>; elements = { ... } }   (instead of `add element`)
//
// An existing set declared again with the same type, flags and counter is left as it is
// by the kernel (it refuses a different one, EEXIST). Anything else (a delete, a base
// chain, an interval set's elements, an expression or name this file does not know)
// returns undefined: the caller sends the JSON document as before. Text and JSON give the
// same kernel objects for every shape written here (text-transaction.test.ts loads both).

import type { NftFamily, NftSet } from './nft.js';
import { parts, type NftCommand } from './transaction.js';

/** The declaration of set `name` in table `table` (family implied by the caller's tables). */
export type SetDeclarations = (family: NftFamily, table: string, name: string) => NftSet | undefined;

class Unsupported extends Error {}

const no = (why: string): never => {
  throw new Unsupported(why);
};

/**
 * Hyphenated nft keywords: a name equal to one would be read as the keyword. Ours
 * (svc-…, ep-…, pod-cidrs, endpoint-traffic) never are; anything else is refused.
 */
const HYPHEN_KEYWORDS = new Set(['fully-random', 'port-unreachable', 'proto-dst', 'proto-src', 'auto-merge', 'host-unreachable', 'net-unreachable', 'prot-unreachable', 'admin-prohibited']);

/** Plain words nft reads as keywords where a name may stand; none of ours is one. */
const WORD_KEYWORDS = new Set(['table', 'chain', 'set', 'map', 'element', 'elements', 'rule', 'type', 'flags', 'counter', 'comment', 'timeout', 'size', 'ip', 'ip6', 'inet', 'tcp', 'udp', 'sctp', 'meta', 'ct', 'jump', 'goto', 'accept', 'drop', 'return', 'reject', 'dnat', 'snat', 'masquerade', 'numgen', 'fib', 'vmap', 'update', 'add', 'delete', 'flush', 'policy', 'hook', 'priority']);

/** A chain or set name written bare (nft refuses our chain names quoted). */
function name(s: unknown): string {
  if (typeof s !== 'string' || !/^[a-z][a-z0-9]*([-./][a-z0-9]+)*$/.test(s) || HYPHEN_KEYWORDS.has(s) || WORD_KEYWORDS.has(s)) no(`name ${String(s)}`);
  return s as string;
}

/** Our tables: `svcplane` and its shards `svcplane-00` … `svcplane-0f`. */
function tableName(s: unknown): string {
  if (typeof s !== 'string' || !/^svcplane(-[0-9a-f]+)?$/.test(s)) no(`table ${String(s)}`);
  return s as string;
}

function quoted(s: unknown): string {
  if (typeof s !== 'string' || /["\\\n\r]/.test(s) || s.length > 128) no('comment');
  return `"${s as string}"`;
}

/** A literal: an address, a prefix, a protocol or type name, a number. */
function literal(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return String(v);
  if (typeof v === 'string' && /^[a-z0-9][a-z0-9.:/-]*$/i.test(v)) return v;
  return no(`literal ${JSON.stringify(v)}`);
}

function only(o: Record<string, unknown>): [string, unknown] {
  const keys = Object.keys(o);
  if (keys.length !== 1) no(`expression ${JSON.stringify(o)}`);
  return [keys[0]!, o[keys[0]!]];
}

/** A value or selector expression. */
function expr(e: unknown): string {
  if (typeof e === 'string' && e.startsWith('@')) return `@${name(e.slice(1))}`;
  if (typeof e !== 'object' || e === null) return literal(e);
  if (Array.isArray(e)) return no('array');
  const [k, v] = only(e as Record<string, unknown>);
  const x = v as Record<string, unknown>;
  switch (k) {
    case 'payload':
      return `${literal(x.protocol)} ${literal(x.field)}`;
    case 'meta':
      return `meta ${literal(x.key)}`;
    case 'ct': {
      if (x.family !== undefined) no('ct family');
      return x.dir === undefined ? `ct ${ctKey(x.key)}` : `ct ${literal(x.dir)} ${ctKey(x.key)}`;
    }
    case 'numgen':
      if (x.mode !== 'random') no('numgen mode');
      return `numgen random mod ${literal(x.mod)}${x.offset ? ` offset ${literal(x.offset)}` : ''}`;
    case 'fib': {
      const flags = Array.isArray(x.flags) ? x.flags : [x.flags];
      return `fib ${flags.map(literal).join(' . ')} ${literal(x.result)}`;
    }
    case 'concat':
      if (!Array.isArray(v)) no('concat');
      return (v as unknown[]).map(expr).join(' . ');
    case 'prefix':
      return `${literal(x.addr)}/${literal(x.len)}`;
    case '&':
    case '|':
    case '^': {
      if (!Array.isArray(v) || v.length !== 2) no(k);
      const [a, b] = v as unknown[];
      return `${expr(a)} ${k} ${expr(b)}`;
    }
    default:
      return no(`expression ${k}`);
  }
}

/** `ct original ip daddr`: the key may carry its family ("ip daddr"). */
function ctKey(key: unknown): string {
  if (typeof key !== 'string' || !/^(ip6? )?[a-z-]+$/.test(key)) no('ct key');
  return key as string;
}

function verdict(e: Record<string, unknown>): string | undefined {
  const [k, v] = only(e);
  switch (k) {
    case 'jump':
    case 'goto':
      return `${k} ${name((v as Record<string, unknown>).target)}`;
    case 'drop':
    case 'accept':
    case 'return':
      if (v !== null) no(k);
      return k;
    default:
      return undefined;
  }
}

/** One statement of a rule. */
function statement(e: unknown): string {
  if (typeof e !== 'object' || e === null || Array.isArray(e)) return no('statement');
  const v = verdict(e as Record<string, unknown>);
  if (v !== undefined) return v;
  const [k, body] = only(e as Record<string, unknown>);
  const x = body as Record<string, unknown>;
  switch (k) {
    case 'match': {
      const op = x.op === '==' || x.op === 'in' ? '' : x.op === '!=' ? '!= ' : no(`op ${String(x.op)}`);
      return `${expr(x.left)} ${op}${expr(x.right)}`;
    }
    case 'counter':
      // A fresh rule's counter: what `counter` alone gives.
      if (x === null || (x.packets === 0 && x.bytes === 0 && Object.keys(x).length === 2)) return 'counter';
      return no('counter with values');
    case 'dnat': {
      if (Object.keys(x).some((key) => key !== 'addr' && key !== 'port')) no('dnat options');
      const addr = literal(x.addr);
      if (x.port === undefined) return `dnat to ${addr}`;
      return `dnat to ${addr.includes(':') ? `[${addr}]` : addr}:${literal(x.port)}`;
    }
    case 'masquerade': {
      if (Object.keys(x ?? {}).some((key) => key !== 'flags')) no('masquerade options');
      const flags = x?.flags === undefined ? [] : Array.isArray(x.flags) ? x.flags : [x.flags];
      return ['masquerade', flags.map(literal).join(',')].filter(Boolean).join(' ');
    }
    case 'reject':
      if (x.type !== 'icmp' && x.type !== 'icmpv6') no('reject type');
      return `reject with ${x.type as string} type ${literal(x.expr)}`;
    case 'vmap':
      if (typeof x.data !== 'string' || !x.data.startsWith('@')) no('vmap data');
      return `${expr(x.key)} vmap ${expr(x.data)}`;
    case 'mangle':
      return `${expr(x.key)} set ${expr(x.value)}`;
    default:
      return no(`statement ${k}`);
  }
}

/** Every `@set` a rule names (a lookup, a verdict map, a set update). */
function setRefs(e: unknown, out: Set<string>): void {
  if (typeof e === 'string') {
    if (e.startsWith('@')) out.add(e.slice(1));
  } else if (Array.isArray(e)) {
    for (const x of e) setRefs(x, out);
  } else if (typeof e === 'object' && e !== null) {
    for (const x of Object.values(e)) setRefs(x, out);
  }
}

function rule(expr: readonly unknown[], comment: unknown): string {
  const body = expr.map(statement).join(' ');
  return comment === undefined ? body : `${body} comment ${quoted(comment)}`;
}

/** `{ type a . b; flags x; counter; }`, or with `elements = { ... }`: what the set was declared with. */
function declaration(s: NftSet, elements?: readonly unknown[]): string {
  if (s.dynamic) no('dynamic set');
  const type = typeof s.type === 'string' ? s.type : s.type.join(' . ');
  const parts = [`type ${type}${s.map ? ` : ${literal(s.map)}` : ''}`];
  if (s.flags?.length) parts.push(`flags ${s.flags.map(literal).join(',')}`);
  if (s.timeout !== undefined) parts.push(`timeout ${literal(s.timeout)}s`);
  if (s.size !== undefined) parts.push(`size ${literal(s.size)}`);
  if (s.counter) parts.push('counter');
  if (elements) parts.push(`elements = { ${elements.map((e) => element(s, e)).join(', ')} }`);
  return `{ ${parts.join('; ')}; }`;
}

/** One element as the JSON `elem` list holds it: a key (maybe `{elem: {val, comment}}`), in a map `[key, verdict]`. */
function element(s: NftSet, e: unknown): string {
  let key = e;
  let value: string | undefined;
  if (s.kind === 'map') {
    if (!Array.isArray(e) || e.length !== 2) no('map element');
    key = (e as unknown[])[0];
    value = verdict((e as unknown[])[1] as Record<string, unknown>) ?? no('map value');
  }
  let comment: unknown;
  if (typeof key === 'object' && key !== null && 'elem' in key) {
    const w = (key as { elem: Record<string, unknown> }).elem;
    if (Object.keys(w).some((k) => k !== 'val' && k !== 'comment')) no('element options');
    key = w.val;
    comment = w.comment;
  }
  return `${expr(key)}${value ? ` : ${value}` : ''}${comment === undefined ? '' : ` comment ${quoted(comment)}`}`;
}

/**
 * The commands as one line of nft text that needs no chain cache, or undefined when
 * one of them cannot be written so (the caller sends the JSON instead).
 */
export function cachelessText(commands: readonly NftCommand[], decl: SetDeclarations): string | undefined {
  try {
    const out: string[] = [];
    /** The `add chain T C {` group the last rules went to, and its rules. */
    let open: { at: string; rules: string[] } | undefined;
    const close = () => {
      if (open) out.push(`${open.at} { ${open.rules.join('; ')}; }`);
      open = undefined;
    };
    const declared = new Set<string>();
    const declare = (family: NftFamily, table: string, set: string) => {
      const id = `${family} ${table} ${set}`;
      if (declared.has(id)) return;
      declared.add(id);
      const s = decl(family, table, set) ?? no(`set ${set} unknown`);
      out.push(`add ${s.kind} ${id} ${declaration(s)}`);
    };
    for (const c of commands) {
      const { verb, object } = parts(c);
      const [kind, body] = only(object as unknown as Record<string, unknown>);
      const b = body as Record<string, unknown>;
      const family = b.family === 'ip' || b.family === 'ip6' ? b.family : no('family');
      const table = tableName(b.table);
      if (verb === 'flush' && kind === 'chain') {
        close();
        out.push(`flush chain ${family} ${table} ${name(b.name)}`);
      } else if (verb === 'add' && kind === 'chain') {
        if (b.hook !== undefined || b.type !== undefined) no('base chain');
        close();
        out.push(`add chain ${family} ${table} ${name(b.name)}`);
      } else if (verb === 'add' && kind === 'rule') {
        const at = `add chain ${family} ${table} ${name(b.chain)}`;
        const text = rule(b.expr as unknown[], b.comment);
        const refs = new Set<string>();
        setRefs(b.expr, refs);
        if (open?.at !== at || [...refs].some((r) => !declared.has(`${family} ${table} ${r}`))) {
          close();
          for (const r of refs) declare(family, table, r);
          open = { at, rules: [] };
        }
        open.rules.push(text);
      } else if (verb === 'add' && kind === 'element') {
        close();
        const s = decl(family, table, name(b.name)) ?? no(`set ${String(b.name)} unknown`);
        if (s.flags?.includes('interval')) no('interval set elements');
        declared.add(`${family} ${table} ${s.name}`);
        out.push(`add ${s.kind} ${family} ${table} ${s.name} ${declaration(s, b.elem as unknown[])}`);
      } else {
        no(`${verb} ${kind} ${String(b.name)}`);
      }
    }
    close();
    return out.length ? `${out.join('; ')}\n` : undefined;
  } catch (e) {
    if (e instanceof Unsupported) return undefined;
    throw e;
  }
}
