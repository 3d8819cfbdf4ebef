// Writes <outdir>/rules/: the plan, and each registered backend's ruleset
// precompiled for a node the plan knows nothing about (no name, no addresses),
// with the static endpoints the app declares. Reviewers diff these files; the
// agent recomputes the node-specific parts on the node.
//
// Never *.yaml here: the cdk8s CLI reads every *.yaml under dist/ as a manifest.
// The CLI also deletes dist/ before each synth, so the folder is made anew.

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backends/backend.js';
import { DEFAULT_PROXY_CONFIG } from '../model/config.js';
import type { EndpointSliceInfo } from '../model/endpoints.js';
import { UNKNOWN_NODE } from '../model/node.js';
import { serializePlan, type Plan } from '../model/plan.js';

export const RULES_DIR = 'rules';
export const PLAN_FILE = 'plan.json';

/** The files to write, relative to rules/, in a stable order. Pure. */
export function renderRulesFiles(
  plan: Plan,
  endpointSlices: readonly EndpointSliceInfo[],
  backends: readonly Backend[],
): Array<{ readonly file: string; readonly content: string }> {
  const files = [{ file: PLAN_FILE, content: serializePlan(plan) }];
  for (const b of backends) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(b.rulesFile) || /\.ya?ml$/i.test(b.rulesFile) || b.rulesFile === PLAN_FILE) {
      throw new Error(`backend ${b.name}: rulesFile ${JSON.stringify(b.rulesFile)} must be a plain file name, not plan.json and not *.yaml (cdk8s would read it as a manifest)`);
    }
    const content = b.render({ plan, endpointSlices, node: UNKNOWN_NODE, config: DEFAULT_PROXY_CONFIG, mode: 'coexist' });
    files.push({ file: b.rulesFile, content });
  }
  return files;
}

/** Replaces <outdir>/rules/ with the given files; returns their paths. */
export function writeRulesDir(outdir: string, files: ReadonlyArray<{ readonly file: string; readonly content: string }>): string[] {
  const dir = join(outdir, RULES_DIR);
  // Only our files live here; a backend dropped from the build must not leave a stale ruleset.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return files.map(({ file, content }) => {
    const p = join(dir, file);
    writeFileSync(p, content);
    return p;
  });
}
