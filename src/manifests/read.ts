// Reading manifests: files, folders (recursively), or '-' for stdin; YAML with any
// number of documents, or JSON. `List` objects (kind List, or any *List with items)
// are flattened into their items. Every document remembers where it came from
// (file and document number, plus the item index inside a List) so that errors
// can point at it.
//
// The parsing half is pure (`parseManifestText`); only `readManifests` does I/O.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isJsonObject } from '../model/json-fields.js';
import type { InputRead } from './input-reads.js';
import { scanJsonList, type JsonListText } from './json-list.js';
import { fileError, walkManifestFiles } from './walk.js';

export interface ManifestDocument {
  /** The parsed object (or whatever the document held). */
  readonly object: unknown;
  /** File path as given (or found in a folder); '<stdin>' for '-'. */
  readonly file: string;
  /** 1-based document number within the file. */
  readonly document: number;
  /** Index within a List's items, when the object came from one. */
  readonly item?: number;
  /** "file#document" or "file#document.items[i]", for messages. */
  readonly source: string;
  /** Set when the document was validated as it was read (input-reads.ts); `object` is then let go. */
  readonly read?: InputRead;
}

export const STDIN_NAME = '<stdin>';

// The YAML parser is loaded on the first YAML text, not at import: it is a tenth of a
// second of start-up that a JSON input (or a plan.json) never needs. yaml is a
// CommonJS package, so `require` loads it synchronously and parseManifestText stays sync.
let yamlParser: typeof import('yaml') | undefined;
function yaml(): typeof import('yaml') {
  yamlParser ??= createRequire(import.meta.url)('yaml') as typeof import('yaml');
  return yamlParser;
}

/** What a reader may do with each document as it is read (ReadOptions.each). */
export type EachDocument = (doc: ManifestDocument) => ManifestDocument;

/**
 * Parses one file's text into documents. JSON when `format` is 'json' (or, with no
 * format, when the text starts with '{' or '['), YAML otherwise. A top-level JSON
 * array is taken as a list of documents. Empty YAML documents are dropped. `each`
 * sees every document before the next one is parsed (a JSON List's items one by one).
 */
export function parseManifestText(text: string, file: string, format?: 'json' | 'yaml', each?: EachDocument): ManifestDocument[] {
  const trimmed = text.trimStart();
  const isJson = format === 'json' || (format === undefined && (trimmed.startsWith('{') || trimmed.startsWith('[')));
  if (isJson) {
    const list = trimmed.startsWith('{') ? scanJsonList(text) : undefined;
    const items = list && parseListItems(text, file, list, each);
    if (items) return items;
  }
  let raw: unknown[];
  if (isJson) {
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch (e) {
      throw fileError(file, `not valid JSON: ${(e as Error).message}`);
    }
    raw = Array.isArray(v) ? v : [v];
  } else {
    raw = [];
    const docs = yaml().parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
    // parseAllDocuments returns an EmptyStream (not an array) for a text without documents.
    if (!Array.isArray(docs)) return [];
    docs.forEach((d, i) => {
      const err = d.errors[0];
      if (err) {
        const pos = err.linePos?.[0];
        throw fileError(file, `document ${i + 1}: not valid YAML${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`);
      }
      raw.push(d.contents === null ? null : d.toJS({ maxAliasCount: 100 }));
    });
  }
  const out: ManifestDocument[] = [];
  raw.forEach((object, i) => {
    if (object === null || object === undefined) return;
    const document = i + 1;
    for (const d of flattenList({ object, file, document, source: `${file}#${document}` })) out.push(each ? each(d) : d);
  });
  return out;
}

/**
 * The documents of a JSON List file (the text's only document), its items parsed one
 * at a time: the same documents flattenList makes of the whole parsed List. Undefined
 * when an item is not valid JSON (the caller parses the whole text for the message).
 */
function parseListItems(text: string, file: string, list: JsonListText, each: EachDocument | undefined): ManifestDocument[] | undefined {
  const parent: ManifestDocument = { object: undefined, file, document: 1, source: `${file}#1` };
  const out: ManifestDocument[] = [];
  const r = list.itemRanges;
  for (let k = 0; k < r.length; k += 2) {
    let item: unknown;
    try {
      item = JSON.parse(text.slice(r[k], r[k + 1]));
    } catch {
      return undefined;
    }
    for (const d of listItemDocuments(list.head, item, k / 2, parent)) out.push(each ? each(d) : d);
  }
  return out;
}

/**
 * A List's items as documents of their own. Items of a typed list (ServiceList)
 * may omit kind and apiVersion, as the API server returns them; they inherit both.
 */
export function flattenList(doc: ManifestDocument): ManifestDocument[] {
  const o = doc.object;
  if (!isJsonObject(o) || typeof o.kind !== 'string' || !o.kind.endsWith('List') || !Array.isArray(o.items)) return [doc];
  const out: ManifestDocument[] = [];
  o.items.forEach((item, i) => {
    for (const d of listItemDocuments(o, item, i, doc)) out.push(d);
  });
  return out;
}

/** Item `i` of the List `list` (its kind ends in List), as documents (an item may be a List itself). */
function listItemDocuments(list: Record<string, unknown>, item: unknown, i: number, doc: ManifestDocument): ManifestDocument[] {
  const kind = list.kind as string;
  const itemKind = kind === 'List' ? undefined : kind.slice(0, -'List'.length);
  let object: unknown = item;
  if (itemKind && isJsonObject(item)) {
    object = { ...(list.apiVersion !== undefined ? { apiVersion: list.apiVersion } : {}), kind: itemKind, ...item };
  }
  return flattenList({ object, file: doc.file, document: doc.document, item: i, source: `${doc.source}.items[${i}]` });
}

/**
 * The files `readManifests` reads for these paths (no stdin), in the same order: a folder's
 * *.yaml, *.yml and *.json files, recursively, sorted (walk.ts). A path that does not exist,
 * or an entry of a folder that cannot be stat'ed (a dangling symlink), is an error naming it.
 */
export async function listManifestFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) await walkManifestFiles([p], (_rel, path) => void out.push(path), 'fail');
  return out;
}

/** One file's documents (JSON when it ends in .json, YAML otherwise); `each` as in parseManifestText. */
export async function readManifestFile(file: string, each?: EachDocument): Promise<ManifestDocument[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw fileError(file, `cannot read: ${(e as Error).message}`);
  }
  return parseManifestText(text, file, file.toLowerCase().endsWith('.json') ? 'json' : 'yaml', each);
}

async function readStdin(stdin: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stdin) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

export interface ReadOptions {
  /** Where '-' reads from; process.stdin by default. */
  readonly stdin?: AsyncIterable<unknown>;
  /**
   * Called on each document as it is read, before the next is parsed; what it returns
   * is kept instead. load.ts validates Services and EndpointSlices there and keeps only
   * the result, so that a large List's raw items are never all alive at once.
   */
  readonly each?: EachDocument;
}

/**
 * Reads every path in order: a file as given (JSON when it ends in .json), a folder
 * as its *.yaml, *.yml and *.json files, recursively, in sorted order (dot-files and
 * dot-folders are passed over), '-' as stdin (once).
 */
export async function readManifests(paths: readonly string[], opts: ReadOptions = {}): Promise<ManifestDocument[]> {
  const out: ManifestDocument[] = [];
  let stdinRead = false;
  for (const p of paths) {
    if (p === '-') {
      if (stdinRead) throw fileError(STDIN_NAME, "'-' (stdin) may be given only once");
      stdinRead = true;
      for (const d of parseManifestText(await readStdin(opts.stdin ?? process.stdin), STDIN_NAME, undefined, opts.each)) out.push(d);
      continue;
    }
    // A loop, not a spread: one file can hold 10^5 objects, past the argument limit.
    await walkManifestFiles(
      [p],
      async (_rel, path) => {
        for (const d of await readManifestFile(path, opts.each)) out.push(d);
      },
      'fail',
    );
  }
  return out;
}
