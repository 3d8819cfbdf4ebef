// `svcplane diff OLD NEW`: per Service, what changes on the nodes between two dist/
// trees (folders or git revisions; see src/review/source.ts for how they are told
// apart): its definition, its endpoints, and how many objects of each backend's
// ruleset change. Words by default, --markdown for a pull-request comment, --json.
// Exit 0 whether or not anything differs (with --exit-code: 1 when something does,
// as `git diff --exit-code`); 2 on bad input, naming the side, file and field.

import type { Command } from 'commander';
import { registeredBackends } from '../backends/registry.js';
import { renderRulesFiles } from '../constructs/rules-writer.js';
import { formatJson, formatMarkdown, formatText } from '../review/format.js';
import { buildReport, hasDifferences, type DiffSide } from '../review/report.js';
import { readSource, type SourceOptions } from '../review/source.js';
import { collectInputs } from '../manifests/inputs.js';
import { inputError } from '../model/errors.js';

interface DiffFlags {
  readonly markdown?: boolean;
  readonly json?: boolean;
  readonly exitCode?: boolean;
  readonly repo?: string;
  readonly path: string;
  readonly backend: string[];
}

const collect = (v: string, prev: string[]) => [...prev, v];

async function loadSide(arg: string, opts: SourceOptions, backends: ReturnType<typeof registeredBackends>): Promise<DiffSide> {
  const tree = await readSource(arg, opts);
  // Strict: a diff of a tree with a broken object would be a diff of something else.
  const inputs = collectInputs(tree.documents, { strict: true });
  const rulesets = new Map<string, string>();
  for (const b of backends) {
    const text = tree.rulesFiles.get(b.rulesFile);
    if (text !== undefined) {
      rulesets.set(b.name, text);
      continue;
    }
    // Plain manifests (no precompiled rules): rendered with this build, as synth would.
    process.stderr.write(`note: ${arg} has no ${b.rulesFile}: rendered from its manifests with this svcplane\n`);
    rulesets.set(b.name, renderRulesFiles(inputs.plan, inputs.endpointSlices, [b]).find((f) => f.file === b.rulesFile)!.content);
  }
  return { label: arg, plan: inputs.plan, endpointSlices: inputs.endpointSlices, rulesets };
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .description('per Service, what changes on the nodes between two dist/ trees (folders, or git revisions: REV reads REV:dist, REV:PATH that folder)')
    .argument('<old>', 'a folder, or a git revision (REV or REV:PATH)')
    .argument('<new>', 'a folder, or a git revision (REV or REV:PATH)')
    .option('--markdown', 'markdown for a pull-request comment: a summary table, details folded')
    .option('--json', 'the report as JSON')
    .option('--exit-code', 'exit 1 when there are differences (as git diff --exit-code)')
    .option('-C, --repo <dir>', 'the git repository revisions are read from (default: the current folder)')
    .option('--path <path>', 'the folder read at a bare revision', 'dist')
    .option('--backend <name>', 'compare only this backend\'s rules; repeatable (default: all)', collect, [])
    .action(async (oldArg: string, newArg: string, flags: DiffFlags) => {
      if (flags.markdown && flags.json) throw inputError(undefined, '--markdown/--json', 'give one output format, not both');
      const all = registeredBackends();
      for (const name of flags.backend) {
        if (!all.some((b) => b.name === name)) throw inputError(undefined, '--backend', `unknown backend ${JSON.stringify(name)} (available: ${all.map((b) => b.name).join(', ')})`);
      }
      const backends = flags.backend.length ? all.filter((b) => flags.backend.includes(b.name)) : all;
      const opts: SourceOptions = { ...(flags.repo ? { repo: flags.repo } : {}), path: flags.path, rulesFileNames: backends.map((b) => b.rulesFile) };
      const before = await loadSide(oldArg, opts, backends);
      const after = await loadSide(newArg, opts, backends);
      const report = buildReport(before, after, new Map(backends.map((b) => [b.name, b.rulesFile])));
      process.stdout.write(flags.json ? formatJson(report) : flags.markdown ? formatMarkdown(report) : formatText(report));
      if (!flags.json && !flags.markdown && !hasDifferences(report)) process.stderr.write('no differences\n');
      process.exitCode = flags.exitCode && hasDifferences(report) ? 1 : 0;
    });
}
