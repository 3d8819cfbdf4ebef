// Golden files: the expected text lives beside the test; UPDATE_GOLDEN=1 rewrites
// them (review the diff before committing, as you would a rules change). CI never
// rewrites a golden: a run with CI set refuses UPDATE_GOLDEN, so a changed output can
// only land through a reviewed commit of the golden itself.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Lines of context shown around the changed region, and the most changed lines shown. */
const CONTEXT = 3;
const MAX_SHOWN = 40;

export function assertGolden(path: string, actual: string): void {
  if (process.env.UPDATE_GOLDEN === '1') {
    if (process.env.CI) throw new Error(`UPDATE_GOLDEN=1 is refused under CI (CI=${process.env.CI}): update ${path} locally and commit it`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `golden file ${path} is missing; run with UPDATE_GOLDEN=1 to create it`);
  const expected = readFileSync(path, 'utf8');
  if (actual === expected) return;
  assert.fail(`output differs from ${path} (UPDATE_GOLDEN=1 rewrites it; read the diff first):\n${lineDiff(expected, actual)}`);
}

/**
 * A short, readable diff of two texts: the lines both share at the start and at the
 * end are cut, and the changed region between them is shown as - (golden) and +
 * (actual) lines with a little context, numbered as in the golden. Goldens are small,
 * so one changed region is what a reader needs to see; a full LCS is not.
 */
export function lineDiff(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: string[] = [`@@ golden line ${start + 1}: ${endA - start} line(s) -> ${endB - start} line(s) @@`];
  for (let i = Math.max(0, start - CONTEXT); i < start; i++) out.push(`  ${a[i]}`);
  const removed = a.slice(start, endA);
  const added = b.slice(start, endB);
  for (const l of removed.slice(0, MAX_SHOWN)) out.push(`- ${l}`);
  if (removed.length > MAX_SHOWN) out.push(`- ... ${removed.length - MAX_SHOWN} more`);
  for (const l of added.slice(0, MAX_SHOWN)) out.push(`+ ${l}`);
  if (added.length > MAX_SHOWN) out.push(`+ ... ${added.length - MAX_SHOWN} more`);
  for (let i = endA; i < Math.min(a.length, endA + CONTEXT); i++) out.push(`  ${a[i]}`);
  return out.join('\n');
}
