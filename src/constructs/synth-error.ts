// The error synth fails with: every problem of every construct at once, each
// line naming the construct path and the manifest field, so one run shows all
// there is to fix. An InputError (exit code 2), like any other bad input.

import { InputError } from '../model/errors.js';
import type { SynthIssue } from './collisions.js';

export class SvcplaneSynthError extends InputError {
  constructor(readonly problems: readonly SynthIssue[]) {
    super(undefined, problems.map((p) => ({ field: `[${p.path}]${p.object ? ` ${p.object}` : ''} ${p.field}`.trimEnd(), message: p.message })));
    this.message = `svcplane synth failed:\n  ${problems.map(formatSynthIssue).join('\n  ')}`;
  }
}

/** `[construct/path] Service ns/name: spec.field: message` (parts that are unknown left out). */
export function formatSynthIssue(p: SynthIssue): string {
  return [`[${p.path}]`, p.object ? ` ${p.object}:` : '', p.field ? ` ${p.field}:` : '', ` ${p.message}`].join('');
}
