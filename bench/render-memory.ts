// Render time, document size and peak memory of each backend on one scenario, each
// backend in a child process of its own (render-child.ts), one after the other.

import { execa } from 'execa';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../src/backends/backend.js';
import type { RenderChildResult } from './render-child.js';
import type { Scenario } from './scenarios.js';
import { median } from './stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');

export interface RenderRow extends RenderChildResult {
  /** Median of the runs, ms. */
  ms: number;
}

export async function renderRows(sc: Scenario, backends: readonly Backend[], runs: number): Promise<RenderRow[]> {
  const rows: RenderRow[] = [];
  for (const b of backends) {
    const r = await execa(process.execPath, ['--expose-gc', '--max-old-space-size=8192', '--import', 'tsx', join(here, 'render-child.ts'), b.name, String(sc.services), String(sc.endpointsPerService), String(runs)], {
      cwd: root,
      maxBuffer: 1 << 20,
    });
    const x = JSON.parse(r.stdout.trim().split('\n').pop()!) as RenderChildResult;
    rows.push({ ...x, ms: median(x.runs) });
  }
  return rows;
}
