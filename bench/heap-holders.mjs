// `node --max-old-space-size=6000 bench/heap-holders.mjs SNAPSHOT [MIN_MB] [DEPTH]`: what holds a
// heap snapshot's memory. Computes the dominator tree (weak edges and the internalized-string
// table's edges left out, so a string is its holder's) and each object's retained size, then
// prints the tree from the GC roots down to DEPTH (8) levels, every node that retains at least
// MIN_MB (0.5) MB: its retained and own size, the edge it is reached by, its type and name;
// then the live heap's own sizes by type and constructor. bench/heap-snapshot-first-sync.mjs
// writes the agent's just before its first sync.
import { readFileSync } from 'node:fs';

const [file, minArg = '0.5', depthArg = '8'] = process.argv.slice(2);
const snap = JSON.parse(readFileSync(file, 'utf8'));
const { meta } = snap.snapshot;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nTypes = meta.node_fields.indexOf('type');
const nName = meta.node_fields.indexOf('name');
const nSelf = meta.node_fields.indexOf('self_size');
const nEdges = meta.node_fields.indexOf('edge_count');
const eType = meta.edge_fields.indexOf('type');
const eName = meta.edge_fields.indexOf('name_or_index');
const eTo = meta.edge_fields.indexOf('to_node');
const nodeTypes = meta.node_types[nTypes];
const edgeTypes = meta.edge_types[eType];
const { nodes, edges, strings } = snap;
const N = nodes.length / NF;
const WEAK = edgeTypes.indexOf('weak');
const ELEMENT = edgeTypes.indexOf('element');
const HIDDEN = edgeTypes.indexOf('hidden');

const firstEdge = new Uint32Array(N + 1);
for (let i = 0, e = 0; i < N; i++) {
  firstEdge[i] = e;
  e += nodes[i * NF + nEdges] * EF;
}
firstEdge[N] = edges.length;
const typeOf = (i) => nodeTypes[nodes[i * NF + nTypes]];
const nameOf = (i) => strings[nodes[i * NF + nName]];
const selfOf = (i) => nodes[i * NF + nSelf];
const skipFrom = new Uint8Array(N);
for (let i = 0; i < N; i++) if (typeOf(i) === 'synthetic' && /^\((Internalized strings|External strings)/.test(nameOf(i))) skipFrom[i] = 1;
const essential = (from, e) => edges[e + eType] !== WEAK && !skipFrom[from];

// Depth-first post-order from the root (node 0), and predecessors.
const post = new Int32Array(N).fill(-1);
const order = new Int32Array(N);
const parentEdge = new Int32Array(N).fill(-1);
let count = 0;
{
  const stack = new Int32Array(N);
  const next = new Uint32Array(N);
  const seen = new Uint8Array(N);
  let sp = 0;
  stack[sp++] = 0;
  seen[0] = 1;
  next[0] = firstEdge[0];
  while (sp) {
    const v = stack[sp - 1];
    let pushed = false;
    while (next[v] < firstEdge[v + 1]) {
      const e = next[v];
      next[v] += EF;
      if (!essential(v, e)) continue;
      const w = edges[e + eTo] / NF;
      if (seen[w]) continue;
      seen[w] = 1;
      parentEdge[w] = e;
      next[w] = firstEdge[w];
      stack[sp++] = w;
      pushed = true;
      break;
    }
    if (!pushed) {
      sp--;
      post[v] = count;
      order[count++] = v;
    }
  }
}
const predCount = new Uint32Array(N + 1);
for (let v = 0; v < N; v++) {
  if (post[v] < 0) continue;
  for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) if (essential(v, e)) predCount[edges[e + eTo] / NF + 1]++;
}
for (let i = 0; i < N; i++) predCount[i + 1] += predCount[i];
const preds = new Int32Array(predCount[N]);
{
  const fill = predCount.slice();
  for (let v = 0; v < N; v++) {
    if (post[v] < 0) continue;
    for (let e = firstEdge[v]; e < firstEdge[v + 1]; e += EF) if (essential(v, e)) preds[fill[edges[e + eTo] / NF]++] = v;
  }
}
// Cooper, Harvey and Kennedy's iterative dominators, on post-order numbers.
const idom = new Int32Array(N).fill(-1);
const root = 0;
idom[root] = root;
for (let changed = true; changed; ) {
  changed = false;
  for (let k = count - 2; k >= 0; k--) {
    const b = order[k];
    let d = -1;
    for (let p = predCount[b]; p < predCount[b + 1]; p++) {
      const q = preds[p];
      if (post[q] < 0 || idom[q] < 0) continue;
      if (d < 0) {
        d = q;
        continue;
      }
      let x = q;
      let y = d;
      while (x !== y) {
        while (post[x] < post[y]) x = idom[x];
        while (post[y] < post[x]) y = idom[y];
      }
      d = x;
    }
    if (d >= 0 && idom[b] !== d) {
      idom[b] = d;
      changed = true;
    }
  }
}
const retained = new Float64Array(N);
for (let k = 0; k < count; k++) {
  const v = order[k];
  retained[v] += selfOf(v);
  if (v !== root) retained[idom[v]] += retained[v];
}
const children = new Map();
for (let k = 0; k < count; k++) {
  const v = order[k];
  if (v === root) continue;
  const d = idom[v];
  if (!children.has(d)) children.set(d, []);
  children.get(d).push(v);
}
const MB = 1e6;
const min = Number(minArg) * MB;
const edgeLabel = (v) => {
  const e = parentEdge[v];
  if (e < 0) return '';
  const t = edges[e + eType];
  const n = edges[e + eName];
  const from = (e - firstEdge[0]) >= 0 ? '' : '';
  return (t === ELEMENT || t === HIDDEN ? `[${n}]` : `.${strings[n]}`) + from;
};
const describe = (v) => {
  const name = nameOf(v);
  return `${typeOf(v)} ${typeOf(v) === 'string' || typeOf(v) === 'concatenated string' || typeOf(v) === 'sliced string' ? JSON.stringify(name.slice(0, 40)) : name.slice(0, 60)}`;
};
let total = 0;
for (let k = 0; k < count; k++) total += selfOf(order[k]);
console.log(`${N} nodes, ${count} reached; live ${(total / MB).toFixed(1)} MB`);
// Children under MIN_MB each, summed by type and constructor (44k records of one kind under one map).
const kindOf = (v) => {
  const t = typeOf(v);
  return /string/.test(t) ? t : `${t} ${nameOf(v).slice(0, 40)}`;
};
const print = (v, depth, indent) => {
  const all = children.get(v) ?? [];
  const kids = all.filter((c) => retained[c] >= min).sort((a, b) => retained[b] - retained[a]);
  for (const c of kids) {
    console.log(`${indent}${(retained[c] / MB).toFixed(1).padStart(6)} MB (own ${(selfOf(c) / MB).toFixed(2)})  ${edgeLabel(c)}  ${describe(c)}  [${(children.get(c) ?? []).length} dominated]`);
    if (depth > 1) print(c, depth - 1, `${indent}  `);
  }
  const small = new Map();
  for (const c of all) {
    if (retained[c] >= min) continue;
    const k = kindOf(c);
    const cur = small.get(k) ?? { n: 0, size: 0 };
    cur.n++;
    cur.size += retained[c];
    small.set(k, cur);
  }
  for (const [k, { n, size }] of [...small].sort((a, b) => b[1].size - a[1].size).slice(0, 6)) {
    if (size >= min) console.log(`${indent}${(size / MB).toFixed(1).padStart(6)} MB  in ${n} x ${k} (each under ${minArg} MB)`);
  }
};
print(root, Number(depthArg), '');
// Own sizes by type and constructor (the objects themselves, wherever held).
const byKind = new Map();
for (let k = 0; k < count; k++) {
  const v = order[k];
  const t = typeOf(v);
  const key = t === 'object' || t === 'closure' || t === 'hidden' || t === 'code' || t === 'array' ? `${t} ${nameOf(v).slice(0, 50)}` : t;
  const cur = byKind.get(key) ?? { n: 0, size: 0 };
  cur.n++;
  cur.size += selfOf(v);
  byKind.set(key, cur);
}
console.log('\nown sizes by type / constructor (top 30):');
for (const [k, { n, size }] of [...byKind].sort((a, b) => b[1].size - a[1].size).slice(0, 30)) console.log(`${(size / MB).toFixed(1).padStart(6)} MB  ${String(n).padStart(8)}  ${k}`);
