// Render time and document size of each selected backend on the same input, in one
// process and one run. The backends take turns within each repetition, so a burst of
// other work on the (shared) machine hits them alike; the report gives ratios.

import type { Backend } from '../src/backends/backend.js';
import type { RenderInput } from '../src/model/render-input.js';
import { median, timed } from './stats.js';

export interface RenderRow {
  backend: string;
  /** Median of `runs` calls of backend.render (render + serialize, as the CLI does). */
  ms: number;
  all: number[];
  bytes: number;
  lines: number;
}

export async function compareRenders(input: RenderInput, backends: readonly Backend[], runs: number): Promise<RenderRow[]> {
  const times = new Map<string, number[]>(backends.map((b) => [b.name, []]));
  const docs = new Map<string, { bytes: number; lines: number }>();
  for (let r = 0; r < runs; r++) {
    for (const b of backends) {
      const [doc, ms] = await timed(() => b.render(input));
      times.get(b.name)!.push(ms);
      if (r === 0) docs.set(b.name, { bytes: Buffer.byteLength(doc), lines: doc.split('\n').length - 1 });
    }
  }
  return backends.map((b) => ({ backend: b.name, ms: median(times.get(b.name)!), all: times.get(b.name)!, ...docs.get(b.name)! }));
}
