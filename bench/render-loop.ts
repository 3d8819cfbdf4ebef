// A/B harness for the render (issue 16 §4): renders the synthetic S x E input N times with
// the COMPILED backend of a given tree (ROOT/lib, so a `git archive` copy of the base can be
// run beside this worktree), and prints one JSON line: CPU ms (process.cpuUsage, GC helper
// threads included) and wall ms per render, the document's bytes and sha256 (the bytes
// must not move). Run it alternated with farm-bench's --vs, or alone under --cpu-prof.
//
// argv: ROOT BACKEND SERVICES ENDPOINTS_PER_SERVICE RUNS
//   node --import tsx bench/render-loop.ts /tmp/base nftables 10000 10 3

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { syntheticInput } from './synthetic.js';

const [root, name, services, perService, runs] = process.argv.slice(2);
const mod = (await import(pathToFileURL(join(root!, 'lib/backends', name!, 'index.js')).href)) as Record<string, { render(input: unknown): string }>;
const backend = mod[`${name}Backend`];
if (!backend) throw new Error(`render-loop: no ${name}Backend in ${root}`);
const input = syntheticInput(Number(services), new Map(), Number(perService));
const cpu: number[] = [];
const wall: number[] = [];
let sha = '';
let bytes = 0;
for (let r = 0; r < Number(runs); r++) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const doc = backend.render(input);
  wall.push(Math.round(performance.now() - t0));
  const c = process.cpuUsage(c0);
  cpu.push(Math.round((c.user + c.system) / 1000));
  if (r === 0) {
    sha = createHash('sha256').update(doc).digest('hex');
    bytes = Buffer.byteLength(doc);
  }
}
process.stdout.write(`${JSON.stringify({ root, backend: name, cpu, wall, bytes, sha })}\n`);
