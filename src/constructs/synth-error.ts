// The error synth fails with: every problem of every construct at once, each
// line naming the construct path and the manifest field, so one run shows all
// there is to fix. An InputError (exit code 2), like any other bad input.
//
// Presented as the problems, one a line, and nothing else: `synthOrExit` prints
// them and sets exit code 2; thrown uncaught, the error carries no stack and no
// enumerable fields, so Node does not print a trace and an object dump either.

import { escapeControl, InputError, isInputError } from '../model/errors.js';
import type { SynthIssue } from './collisions.js';

export class SvcplaneSynthError extends InputError {
  declare readonly problems: readonly SynthIssue[];

  constructor(problems: readonly SynthIssue[]) {
    super(undefined, problems.map((p) => ({ field: `[${p.path}]${p.object ? ` ${p.object}` : ''} ${p.field}`.trimEnd(), message: p.message })));
    this.message = `svcplane synth failed:\n  ${problems.map(formatSynthIssue).join('\n  ')}`;
    // A stack says where synth noticed, not what to fix; the fields are in the message.
    Object.defineProperty(this, 'problems', { value: problems, enumerable: false });
    for (const k of ['ref', 'issues', 'source', 'exitCode', 'name'] as const) {
      Object.defineProperty(this, k, { value: this[k], enumerable: false });
    }
    this.stack = this.message;
  }
}

/** `[construct/path] Service ns/name: spec.field: message` (parts that are unknown left out). */
export function formatSynthIssue(p: SynthIssue): string {
  return escapeControl([`[${p.path}]`, p.object ? ` ${p.object}:` : '', p.field ? ` ${p.field}:` : '', ` ${p.message}`].join(''));
}

/**
 * Runs a synth; bad input (a SvcplaneSynthError or any InputError) is printed on
 * stderr as its problems, one a line, and the process exits 2 when it ends. Other
 * errors are bugs or I/O failures: thrown on (exit 1).
 */
export function synthOrExit(synth: () => void, stderr: Pick<NodeJS.WriteStream, 'write'> = process.stderr): void {
  try {
    synth();
  } catch (e) {
    if (!isInputError(e)) throw e;
    stderr.write(`${e.message}\n`);
    process.exitCode = 2;
  }
}
