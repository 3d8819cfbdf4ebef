// Read-only comparison of our nftables tables with what they should hold: the
// backend's own diff (diff.ts) computes the transaction apply would send, and this
// file reads that transaction back as named differences (which chain, set or element
// is missing, extra or different, and whose Service it is). It never writes to the
// kernel. Also parses a rendered document (dist/rules/nftables.json) into tables, so
// `svcplane diff` can compare two committed rulesets the same way.

import type { RenderInput } from '../../model/render-input.js';
import type { ApplyOptions } from '../backend.js';
import { serviceOfLabel, type RulesetDifference } from '../difference.js';
import { withNodeFacts } from '../node-facts.js';
import { readLiveTables } from './apply.js';
import { diffTable, matchLive } from './diff.js';
import { canon } from './document.js';
import type { NftChain, NftElement, NftTable } from './nft.js';
import { readElement, readNftDocument } from './read.js';
import { parts } from './transaction.js';
import { preserveServices } from './preserve.js';
import { keptShards, renderTables, tableId } from './render.js';

/** Per-Service chains and sets are named `<prefix>ns/name/proto/port...` (render.ts). */
const SERVICE_OBJECT = /^(?:svc|ext|local|ep|affinity)-([^/]+)\/([^/]+)\//;

function serviceOfName(name: string): string | undefined {
  const m = SERVICE_OBJECT.exec(name);
  return m ? serviceOfLabel(`${m[1]}/${m[2]}`) : undefined;
}

/** An nft JSON value as nft prints it: `10.0.0.1 . tcp . 80`, `10.0.0.0/8`, `goto svc-…`. */
export function nftValueText(v: unknown): string {
  if (v === null || typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return v.map(nftValueText).join(', ');
  const o = v as Record<string, unknown>;
  if (Array.isArray(o.concat)) return o.concat.map(nftValueText).join(' . ');
  const p = o.prefix as { addr?: unknown; len?: unknown } | undefined;
  if (p) return `${String(p.addr)}/${String(p.len)}`;
  if (Array.isArray(o.range)) return o.range.map(nftValueText).join('-');
  const [verb, arg] = Object.entries(o)[0] ?? ['', null];
  if (arg && typeof arg === 'object' && 'target' in arg) return `${verb} ${String((arg as { target: unknown }).target)}`;
  if (arg === null) return verb;
  return canon(v);
}

function elemText(e: NftElement): string {
  return `{${nftValueText(e.key)}}${e.value !== undefined ? ` : ${nftValueText(e.value)}` : ''}`;
}

/**
 * The differences between one desired table and the live one, read from the
 * transaction diffTable would send (so this and apply never disagree).
 */
export function compareNftTable(desired: NftTable, live: NftTable | undefined): RulesetDifference[] {
  const where = `${desired.family} ${desired.name}`;
  const diff = diffTable(desired, live);
  if (!live) {
    return diff.commands.length ? [{ kind: 'table', object: where, change: 'missing', detail: `${diff.changes} objects to add` }] : [];
  }
  if (diff.commands.some((c) => 'delete' in c && 'table' in c.delete)) {
    return [{ kind: 'table', object: where, change: 'different', detail: 'a set type or a base chain hook differs: the whole table would be replaced' }];
  }
  const wantChains = new Map(desired.chains.map((c) => [c.name, c]));
  const liveChains = new Map(live.chains.map((c) => [c.name, c]));
  const wantSets = new Map(desired.sets.map((s) => [s.name, s]));
  const liveSets = new Map(live.sets.map((s) => [s.name, s]));
  const out: RulesetDifference[] = [];
  const chainDiff = (name: string, change: RulesetDifference['change'], c: NftChain | undefined, l: NftChain | undefined) => {
    const svc = serviceOfName(name);
    const detail = change === 'different' ? `rules differ: ${c?.rules.length ?? 0} wanted, ${l?.rules.length ?? 0} present` : undefined;
    out.push({ kind: 'chain', object: `${where} ${name}`, change, ...(svc ? { service: svc } : {}), ...(detail ? { detail } : {}) });
  };
  for (const cmd of diff.commands) {
    const { verb, object: body } = parts(cmd);
    if ('chain' in body) {
      const name = body.chain.name;
      if (verb === 'add') chainDiff(name, 'missing', wantChains.get(name), undefined);
      else if (verb === 'delete') chainDiff(name, 'extra', undefined, liveChains.get(name));
      else if (verb === 'flush' && wantChains.has(name)) chainDiff(name, 'different', wantChains.get(name), liveChains.get(name));
    } else if ('set' in body || 'map' in body) {
      const name = 'set' in body ? body.set.name : body.map.name;
      const kind = 'set' in body ? 'set' : 'map';
      const svc = serviceOfName(name);
      out.push({ kind, object: `${where} ${name}`, change: verb === 'add' ? 'missing' : 'extra', ...(svc ? { service: svc } : {}) });
    } else if ('element' in body) {
      const name = body.element.name;
      const want = wantSets.get(name);
      const have = liveSets.get(name);
      const kind = `${(want ?? have)?.kind ?? 'set'} element`;
      for (const raw of body.element.elem) {
        const e = readElement((want ?? have)?.kind ?? 'set', raw);
        const key = canon(e.key);
        const wanted = want?.elements.find((x) => canon(x.key) === key);
        const present = have?.elements.find((x) => canon(x.key) === key);
        // A changed element is deleted and added again: report it once, as different.
        if (verb === 'add' && present) continue;
        const change = verb === 'add' ? 'missing' : wanted ? 'different' : 'extra';
        const svc = serviceOfLabel(e.comment) ?? serviceOfLabel(wanted?.comment);
        const detail =
          change === 'different'
            ? `present ${elemText({ ...e })}${e.comment ? ` "${e.comment}"` : ''}, wanted ${elemText({ key: wanted!.key, value: wanted!.value })}${wanted!.comment ? ` "${wanted!.comment}"` : ''}`
            : undefined;
        out.push({ kind, object: `${where} ${name} ${elemText(e)}`, change, ...(svc ? { service: svc } : {}), ...(detail ? { detail } : {}) });
      }
    }
  }
  return out;
}

/** Every desired table against its live twin; live tables of ours nobody wants (an emptied shard) are extra. */
export function compareNftTables(desired: readonly NftTable[], live: readonly NftTable[]): RulesetDifference[] {
  const twins = matchLive(desired, live);
  const out = desired.flatMap((t, i) => compareNftTable(t, twins[i]));
  const wanted = new Set(desired.map(tableId));
  for (const l of live) {
    if (!wanted.has(tableId(l))) out.push({ kind: 'table', object: tableId(l), change: 'extra', detail: 'no Service lives in this shard any more' });
  }
  return out;
}

/** A rendered document (`nft -j -f` input) as tables, read by the backend's one reader (read.ts). */
export function parseNftablesDocument(text: string): NftTable[] {
  return readNftDocument(text);
}

/** What `svcplane check` reports for nftables: the current namespace against the render. Reads only. */
export async function checkNftables(input: RenderInput, options: Pick<ApplyOptions, 'preserveServices'> = {}): Promise<RulesetDifference[]> {
  const keep = options.preserveServices ?? [];
  const node = await withNodeFacts(input.node);
  const live = await readLiveTables();
  const desired = renderTables({ ...input, node }, keptShards(keep, live));
  const twins = matchLive(desired, live);
  return compareNftTables(desired.map((t, i) => preserveServices(t, twins[i], keep)), live);
}
