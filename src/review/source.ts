// Where `svcplane diff` reads each side from: a folder, or a folder at a git revision.
//
// How an argument is told apart: one that names an existing path is a folder.
// Anything else is a git revision of the repository holding the current folder (or
// `-C DIR`): `REV` reads the folder `dist` at REV (or the `--path` given), `REV:PATH`
// reads PATH at REV. Files are read with `git ls-tree` and `git cat-file --batch`
// (never a checkout, never a shell). Unknown revisions and missing folders are bad
// input (exit 2) and name the argument.

import { access } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { runChecked, type Command, type Exec } from '../exec/exec.js';
import { systemExec } from '../exec/system-exec.js';
import { parseManifestText, readManifests, type ManifestDocument } from '../manifests/read.js';
import { inputError } from '../model/errors.js';

/** A side of the diff: its manifests (plan.json included) and its precompiled rules files by name. */
export interface SourceTree {
  /** The argument as given: what output calls this side. */
  readonly label: string;
  readonly documents: ManifestDocument[];
  /** Rules file name (nftables.json, ...) -> its text, for those the tree holds. */
  readonly rulesFiles: Map<string, string>;
}

export interface SourceOptions {
  /** The git repository (default: the current folder). */
  readonly repo?: string;
  /** The folder read at a bare revision (default `dist`). */
  readonly path?: string;
  /** Names of rules files to pick out (read as text, not as manifests). */
  readonly rulesFileNames: readonly string[];
  /** How git runs (default: the system's). */
  readonly exec?: Exec;
}

const MANIFEST = /\.(ya?ml|json)$/i;

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}

/** Rules files sit in `rules/` under the tree (as synth writes them) or at its top. */
function rulesFileFor(relative: string, names: readonly string[]): string | undefined {
  const name = basename(relative);
  if (!names.includes(name)) return undefined;
  const dir = relative.slice(0, relative.length - name.length).replace(/\/$/, '');
  return dir === '' || dir === 'rules' ? name : undefined;
}

export async function readFolder(label: string, dir: string, opts: SourceOptions): Promise<SourceTree> {
  const rulesFiles = new Map<string, string>();
  const { readFile } = await import('node:fs/promises');
  for (const sub of ['', 'rules']) {
    for (const name of opts.rulesFileNames) {
      const p = join(dir, sub, name);
      if (!rulesFiles.has(name) && (await exists(p))) rulesFiles.set(name, await readFile(p, 'utf8'));
    }
  }
  const rulesPaths = new Set(opts.rulesFileNames.flatMap((n) => [join(dir, n), join(dir, 'rules', n)]));
  const documents = (await readManifests([dir])).filter((d) => !rulesPaths.has(d.file));
  return { label, documents, rulesFiles };
}

const git = (repo: string, args: readonly string[], input?: string): Command => ({ file: 'git', args: ['-C', repo, ...args], ...(input !== undefined ? { input } : {}) });

/** `git cat-file --batch` for several objects at once: their contents, in order. */
async function catFiles(exec: Exec, repo: string, specs: readonly string[]): Promise<string[]> {
  if (specs.length === 0) return [];
  // The headers count bytes; the output comes back as UTF-8 text, so it is encoded
  // again to walk it (exact for the text files read here: manifests and rules).
  const out = Buffer.from(await runChecked(exec, git(repo, ['cat-file', '--batch'], specs.join('\n') + '\n')), 'utf8');
  const texts: string[] = [];
  let at = 0;
  for (const spec of specs) {
    const nl = out.indexOf(0x0a, at);
    const header = out.subarray(at, nl).toString();
    const size = Number(header.split(' ')[2]);
    if (!/ blob \d+$/.test(header)) throw new Error(`git cat-file: ${spec}: ${header}`);
    texts.push(out.subarray(nl + 1, nl + 1 + size).toString('utf8'));
    at = nl + 1 + size + 1;
  }
  return texts;
}

export async function readRevision(label: string, rev: string, path: string, opts: SourceOptions): Promise<SourceTree> {
  const repo = opts.repo ?? '.';
  const exec = opts.exec ?? systemExec;
  const commit = await exec.run(git(repo, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]));
  if (commit.exitCode !== 0) {
    throw inputError(undefined, 'revision', `${JSON.stringify(rev)} is neither an existing folder nor a revision of the git repository at ${repo}${commit.stderr ? ` (${commit.stderr.trim()})` : ''}`, label);
  }
  const sha = commit.stdout.trim();
  const prefix = path.replace(/^\.?\/+/, '').replace(/\/+$/, '');
  const listed = await runChecked(exec, git(repo, ['ls-tree', '-r', '-z', '--name-only', sha, '--', prefix === '' ? '.' : prefix]));
  const files = listed.split('\0').filter(Boolean).sort();
  if (files.length === 0) throw inputError(undefined, 'path', `no such folder ${JSON.stringify(prefix)} at revision ${rev}`, label);
  const under = (f: string) => (prefix === '' ? f : f.slice(prefix.length + 1));
  const wanted = files.filter((f) => MANIFEST.test(f) || rulesFileFor(under(f), opts.rulesFileNames) !== undefined);
  const texts = await catFiles(exec, repo, wanted.map((f) => `${sha}:${f}`));
  const documents: ManifestDocument[] = [];
  const rulesFiles = new Map<string, string>();
  wanted.forEach((f, i) => {
    const rulesName = rulesFileFor(under(f), opts.rulesFileNames);
    if (rulesName !== undefined) {
      if (!rulesFiles.has(rulesName) || under(f).startsWith('rules/')) rulesFiles.set(rulesName, texts[i]!);
      return;
    }
    for (const d of parseManifestText(texts[i]!, `${rev}:${f}`, f.toLowerCase().endsWith('.json') ? 'json' : 'yaml')) documents.push(d);
  });
  return { label, documents, rulesFiles };
}

/** Reads one side from its argument (see the top of this file for how it is told apart). */
export async function readSource(arg: string, opts: SourceOptions): Promise<SourceTree> {
  if (arg === '') throw inputError(undefined, 'argument', 'empty: give a folder or a git revision');
  if (await exists(arg)) return readFolder(arg, arg, opts);
  const colon = arg.indexOf(':');
  if (colon > 0) return readRevision(arg, arg.slice(0, colon), arg.slice(colon + 1), opts);
  return readRevision(arg, arg, opts.path ?? 'dist', opts);
}
