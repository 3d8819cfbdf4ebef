// A LIST request that returns the API server's JSON items untouched, page by page.
//
// Why raw JSON (and not typed list calls, as client-node's): a typed deserialiser
// rebuilds every item into its model class; one malformed object (say `endpoints:
// {}` where an array belongs) throws inside it and fails the whole list, so one bad
// slice would stop every Service from getting endpoints; and fields it does not
// know are dropped before our parsers could name them. Watch events arrive as raw
// JSON, so listing raw JSON too means one parser sees both.
//
// Pages (`limit` / `continue`, as client-go's informers list), each handed on as it
// arrives: the caller decodes a page's items into what it keeps before the next page
// is asked for, so the response text of one page and its parse are alive at a time,
// never the whole collection's. (Before session 10 the pages' items were gathered
// into one array and decoded after the last page: at 10k Services and 10k
// EndpointSlices x 10 endpoints every raw object was alive at once, ~35 MiB of the
// agent's peak in API mode; src/agent/README.md "API mode at 10k".) An expired
// continue token is a 410, which the caller answers with a fresh (quorum) list.

import type http from 'node:http';
import { ApiError, apiErrorFromStatus } from './api-error.js';
import type { KubeClient } from './kube-client.js';

export interface RawList {
  readonly resourceVersion: string;
  readonly items: readonly unknown[];
}

export interface ListParams {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
  /** "0": any state the server's cache has (cheap); "": the latest (a quorum read). */
  readonly resourceVersion?: string;
}

/** Items per page: client-go's informer default. */
export const LIST_PAGE_SIZE = 500;

/** Takes one page's items, in order; they are not looked at again after it returns. */
export type PageSink = (items: readonly unknown[]) => void;

/**
 * LIST in pages, each page's items to `onPage` as it arrives. Resolves with the
 * list's resourceVersion (every page reports the list's; the request after the first
 * carries only the continue token).
 * Rejects on the first failed page: the pages handed on so far are then not a list.
 */
export async function listPages(
  client: KubeClient,
  path: string,
  params: ListParams,
  timeoutMs: number,
  onPage: PageSink,
  signal?: AbortSignal,
  pageSize = LIST_PAGE_SIZE,
): Promise<string> {
  let resourceVersion = '';
  let cont = '';
  do {
    const query: Record<string, string | number> = { limit: pageSize };
    if (params.labelSelector) query.labelSelector = params.labelSelector;
    if (params.fieldSelector) query.fieldSelector = params.fieldSelector;
    // The server refuses a resourceVersion next to a continue token: the token carries it.
    if (cont) query.continue = cont;
    else if (params.resourceVersion) query.resourceVersion = params.resourceVersion;
    // Only the two strings come back here: the page's text and items stay inside
    // listPage, so this frame holds nothing of them while the next page is fetched.
    const page = await listPage(client, path, query, timeoutMs, signal, onPage);
    resourceVersion = page.resourceVersion;
    cont = page.continue;
  } while (cont);
  return resourceVersion;
}

/** The whole list in one array (tests, tools; the agent's store takes the pages as they come, listPages). */
export async function listRaw(
  client: KubeClient,
  path: string,
  params: ListParams,
  timeoutMs: number,
  signal?: AbortSignal,
  pageSize = LIST_PAGE_SIZE,
): Promise<RawList> {
  const items: unknown[] = [];
  const resourceVersion = await listPages(client, path, params, timeoutMs, (page) => {
    for (const item of page) items.push(item);
  }, signal, pageSize);
  return { resourceVersion, items };
}

async function listPage(
  client: KubeClient,
  path: string,
  query: Record<string, string | number>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  onPage: PageSink,
): Promise<{ resourceVersion: string; continue: string }> {
  const url = client.url(path, query);
  const opts = await client.requestOptions();
  const body = await get(client, url, opts, timeoutMs, signal);
  let doc: unknown;
  try {
    doc = JSON.parse(body.text);
  } catch {
    throw new ApiError(body.status === 200 ? 500 : body.status, `LIST ${path}: response is not JSON (HTTP ${body.status})`);
  }
  if (body.status !== 200) {
    const e = apiErrorFromStatus(doc, body.status);
    throw new ApiError(e.statusCode, `LIST ${path}: ${e.message}`, e.reason);
  }
  const list = (typeof doc === 'object' && doc !== null ? doc : {}) as { metadata?: { resourceVersion?: unknown; continue?: unknown }; items?: unknown };
  const rv = list.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') throw new ApiError(500, `LIST ${path}: the list has no metadata.resourceVersion`);
  // `items: null` is how the API server spells an empty list.
  const items = list.items === null || list.items === undefined ? [] : list.items;
  if (!Array.isArray(items)) throw new ApiError(500, `LIST ${path}: items is not an array`);
  const cont = list.metadata?.continue;
  onPage(items);
  return { resourceVersion: rv, continue: typeof cont === 'string' ? cont : '' };
}

function get(
  client: KubeClient,
  url: URL,
  opts: http.RequestOptions,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = client.transport(url).request(url, { ...opts, ...(signal ? { signal } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        // The response object outlives this callback a while: let the page's bytes go now.
        chunks.length = 0;
        resolve({ status: res.statusCode ?? 0, text });
      });
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`LIST ${url.pathname}: connection closed mid-response`)));
    });
    // A server that accepts the connection and then says nothing must not hang the agent.
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`LIST ${url.pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
