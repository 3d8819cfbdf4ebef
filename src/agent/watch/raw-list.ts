// A LIST request that returns the API server's JSON items untouched, page by page.
//
// Why raw JSON (and not typed list calls, as client-node's): a typed deserialiser
// rebuilds every item into its model class; one malformed object (say `endpoints:
// {}` where an array belongs) throws inside it and fails the whole list, so one bad
// slice would stop every Service from getting endpoints; and fields it does not
// know are dropped before our parsers could name them. Watch events arrive as raw
// JSON, so listing raw JSON too means one parser sees both.
//
// Pages (`limit` / `continue`, as client-go's informers list): the response text of
// one page is held at a time, not the whole collection's (at 10k EndpointSlices the
// one-shot text was ~10 MB, and its parse on top). An expired continue token is a
// 410, which the caller answers with a fresh (quorum) list.

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

export async function listRaw(
  client: KubeClient,
  path: string,
  params: ListParams,
  timeoutMs: number,
  signal?: AbortSignal,
  pageSize = LIST_PAGE_SIZE,
): Promise<RawList> {
  const items: unknown[] = [];
  let resourceVersion = '';
  let cont = '';
  do {
    const query: Record<string, string | number> = { limit: pageSize };
    if (params.labelSelector) query.labelSelector = params.labelSelector;
    if (params.fieldSelector) query.fieldSelector = params.fieldSelector;
    // The server refuses a resourceVersion next to a continue token: the token carries it.
    if (cont) query.continue = cont;
    else if (params.resourceVersion) query.resourceVersion = params.resourceVersion;
    const page = await listPage(client, path, query, timeoutMs, signal);
    for (const item of page.items) items.push(item);
    resourceVersion = page.resourceVersion;
    cont = page.continue;
  } while (cont);
  return { resourceVersion, items };
}

async function listPage(
  client: KubeClient,
  path: string,
  query: Record<string, string | number>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ resourceVersion: string; continue: string; items: readonly unknown[] }> {
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
  return { resourceVersion: rv, continue: typeof cont === 'string' ? cont : '', items };
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
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error(`LIST ${url.pathname}: connection closed mid-response`)));
    });
    // A server that accepts the connection and then says nothing must not hang the agent.
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`LIST ${url.pathname}: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
