// A LIST request that returns the API server's JSON untouched.
//
// Why not client-node's typed list calls: their ObjectSerializer rebuilds every
// item into its model class. One malformed object (say `endpoints: {}` where an
// array belongs) throws inside it and fails the whole list, so one bad slice would
// stop every Service from getting endpoints; and fields it does not know are
// dropped before our parsers could name them. Watch events arrive as raw JSON, so
// listing raw JSON too means one parser sees both. Authentication, TLS and proxy
// settings still come from client-node's KubeConfig (applyToHTTPSOptions).

import http from 'node:http';
import https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApiError, apiErrorFromStatus } from './api-error.js';

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

export async function listRaw(
  kc: KubeConfig,
  path: string,
  params: ListParams,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RawList> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  if (params.labelSelector) url.searchParams.set('labelSelector', params.labelSelector);
  if (params.fieldSelector) url.searchParams.set('fieldSelector', params.fieldSelector);
  if (params.resourceVersion !== undefined && params.resourceVersion !== '') {
    url.searchParams.set('resourceVersion', params.resourceVersion);
  }
  const opts: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  await kc.applyToHTTPSOptions(opts);
  const body = await get(url, opts, timeoutMs, signal);
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
  const list = (typeof doc === 'object' && doc !== null ? doc : {}) as { metadata?: { resourceVersion?: unknown }; items?: unknown };
  const rv = list.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') throw new ApiError(500, `LIST ${path}: the list has no metadata.resourceVersion`);
  // `items: null` is how the API server spells an empty list.
  const items = list.items === null || list.items === undefined ? [] : list.items;
  if (!Array.isArray(items)) throw new ApiError(500, `LIST ${path}: items is not an array`);
  return { resourceVersion: rv, items };
}

function get(
  url: URL,
  opts: https.RequestOptions,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { ...opts, ...(signal ? { signal } : {}) }, (res) => {
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
