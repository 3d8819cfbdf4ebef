// RenderInput -> the iptables document (what `svcplane render` prints and synth writes),
// one Service port at a time: each port's chains are rendered into tables of their own,
// their lines written out at once and the tables dropped. Same bytes as
// serializeIptables(renderIptables(input)) (test/backends/iptables/render-text.test.ts
// checks both on every render fixture and at scale).
//
// Why: at 10k Services × 10 endpoints the two-pass render held 430k rule strings in
// 110k chain arrays until the document was joined, so every young-generation GC copied
// what had survived (three quarters of what the render allocates). Here a rule string
// dies young: lines are joined, as they come, into pieces of CHUNK characters; the
// document joins the pieces.
//
// The order is renderFamily's then serializeIptables': per table, every chain declared in
// the order first named, then every chain's rules in that order. The skeleton names every
// chain that more than one Service port adds to (SVP-SERVICES, SVP-NODEPORTS, …); a
// Service port's own chains (SVP-SVC/SVL/EXT/FW/SEP-…, named by its key) are named by no
// other port. So each table is: the skeleton's declarations, the ports' own declarations in
// port order, the skeleton chains' rules (gathered across ports and the tail), the ports'
// own chains' rules in port order.

import type { IPFamily } from '../../model/ip.js';
import type { RenderInput } from '../../model/render-input.js';
import { servicePortViews } from '../../model/service-ports.js';
import { chainDeclaration, documentHeader, SECTION_MARKER } from './document.js';
import { CHAINS } from './names.js';
import { familyContext, nodePortsTail, servicePort, skeleton, Table, type TableName } from './render.js';

/**
 * Characters per joined piece. Small: what a young GC copies is mostly the lines still
 * pending in every section, and with 2^18 (a piece in V8's large-object space, never
 * copied) up to 2^18 characters of rule strings waited in each. At 10k × 10, 2^13 took
 * 0.83x the CPU of 2^18 per warm render (README.md "Session 17"), as nftables' 8k pieces.
 */
const CHUNK = 1 << 13;

/** Lines joined with '\n' into pieces of about CHUNK characters as they come. */
class LineChunks {
  private lines: string[] = [];
  private size = 0;
  private readonly pieces: string[] = [];

  push(line: string): void {
    this.lines.push(line);
    this.size += line.length + 1;
    if (this.size >= CHUNK) this.flush();
  }

  pushAll(lines: readonly string[]): void {
    for (const l of lines) this.push(l);
  }

  /** Appends the pieces to `out`: joined with '\n' there, they give the lines joined with '\n'. */
  drainInto(out: string[]): void {
    this.flush();
    for (const p of this.pieces) out.push(p);
  }

  private flush(): void {
    if (this.lines.length === 0) return;
    this.pieces.push(this.lines.join('\n'));
    this.lines = [];
    this.size = 0;
  }
}

const SHARED_NAMES: ReadonlySet<string> = new Set(Object.values(CHAINS));

/** One table's restore input, filled skeleton first, then port by port. */
class TableText {
  /** The skeleton's chains, in the order it named them, and the rules every piece adds to them. */
  private readonly shared = new Map<string, LineChunks>();
  private readonly ownDeclarations = new LineChunks();
  private readonly ownRules = new LineChunks();

  constructor(
    private readonly name: TableName,
    skeletonTable: Table,
  ) {
    skeletonTable.forEachChain((chain, rules) => {
      const text = new LineChunks();
      text.pushAll(rules);
      this.shared.set(chain, text);
    });
  }

  /** Writes out what one piece (a Service port, the tail) added to this table. */
  add(piece: Table): void {
    piece.forEachChain((chain, rules) => {
      const shared = this.shared.get(chain);
      if (shared !== undefined) return shared.pushAll(rules);
      // A static chain the skeleton did not name would be declared where a port first
      // names it, and again by the next: the order above would not hold.
      if (SHARED_NAMES.has(chain)) throw new Error(`iptables render: ${this.name} ${chain} is not in the skeleton`);
      this.ownDeclarations.push(chainDeclaration(chain));
      this.ownRules.pushAll(rules);
    });
  }

  drainInto(out: string[]): void {
    out.push(`*${this.name}`);
    for (const chain of this.shared.keys()) out.push(chainDeclaration(chain));
    this.ownDeclarations.drainInto(out);
    for (const rules of this.shared.values()) rules.drainInto(out);
    this.ownRules.drainInto(out);
    out.push('COMMIT');
  }
}

/** One family's section, after its marker: filter, then nat. */
function familySection(input: RenderInput, family: IPFamily, out: string[]): void {
  const ctx = familyContext(input, family);
  const skeletonFilter = new Table();
  const skeletonNat = new Table();
  skeleton(input, ctx, skeletonFilter, skeletonNat);
  const filter = new TableText('filter', skeletonFilter);
  const nat = new TableText('nat', skeletonNat);
  for (const v of servicePortViews(input, family)) {
    const f = new Table();
    const n = new Table();
    servicePort(v, ctx, f, n);
    filter.add(f);
    nat.add(n);
  }
  const tail = new Table();
  nodePortsTail(input, ctx, tail);
  nat.add(tail);
  filter.drainInto(out);
  nat.drainInto(out);
}

/** The whole document for `input`: serializeIptables(renderIptables(input)), rendered per Service port. */
export function renderIptablesText(input: RenderInput): string {
  // The last line's newline from the join itself: `join(…) + '\n'` is a cons string that
  // whoever writes it flattens, copying the whole document once more (48 MB at 10k × 10).
  return documentLines(input).join('\n');
}

/** renderIptablesText's parts, not joined (`svcplane render` writes them in turn): each line or piece, then its newline. */
export function renderIptablesPieces(input: RenderInput): string[] {
  const lines = documentLines(input);
  const parts: string[] = new Array(2 * lines.length - 1);
  for (let i = 0; i < lines.length; i++) {
    parts[2 * i] = lines[i]!;
    if (i + 1 < lines.length) parts[2 * i + 1] = '\n';
  }
  return parts;
}

/** The document's lines and pieces of lines, ending in '' (so that joined by '\n' it ends in a newline). */
function documentLines(input: RenderInput): string[] {
  const families: IPFamily[] = ['IPv4', 'IPv6'];
  const out = documentHeader(families);
  for (const family of families) {
    out.push(SECTION_MARKER[family]);
    familySection(input, family, out);
  }
  out.push('');
  return out;
}
