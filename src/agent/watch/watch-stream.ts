// One watch request: GET ...?watch=1, a chunked response of newline-delimited JSON
// events ({type, object}), handed on one by one as they arrive. What ends it is told
// once through onDone: null for a clean end (the server's timeoutSeconds), else the
// error (an HTTP status as ApiError, so a 410 reads as Gone; a cut connection; a
// line that is not a JSON event — the stream is then out of step and is given up,
// where client-node dropped such lines silently). Aborting it through the returned
// function calls nothing more. No timeout of its own: the caller's silence
// watchdog judges a watch that says nothing (ResilientListWatch).

import type http from 'node:http';
import { ApiError, apiErrorFromStatus } from './api-error.js';
import { LineSplitter } from './json-lines.js';
import type { KubeClient } from './kube-client.js';

export interface WatchHandlers {
  onEvent(type: string, object: unknown): void;
  onDone(err: unknown): void;
}

/** Starts the watch; the returned function aborts it (no onDone after that). */
export function openWatch(
  client: KubeClient,
  path: string,
  query: Readonly<Record<string, string | number | boolean>>,
  handlers: WatchHandlers,
): () => void {
  let done = false;
  let req: http.ClientRequest | undefined;
  // destroy() without an error: the request and response then emit 'close' (and
  // maybe an ECONNRESET 'error', which the listeners below swallow once done).
  const close = (): void => void req?.destroy();
  const finish = (err: unknown): void => {
    if (done) return;
    done = true;
    handlers.onDone(err);
    close();
  };
  const url = client.url(path, { ...query, watch: 1 });
  client.requestOptions().then((opts) => {
    if (done) return;
    req = client.transport(url).request(url, opts, (res) => {
      if (res.statusCode !== 200) return failed(res, path, finish);
      res.setEncoding('utf8');
      const lines = new LineSplitter();
      const deliver = (line: string): void => {
        const event = parseEvent(line);
        if (!event) return finish(new Error(`WATCH ${path}: a line that is not a watch event: ${JSON.stringify(line.slice(0, 200))}`));
        handlers.onEvent(event.type, event.object);
      };
      res.on('data', (chunk: string) => {
        for (const line of lines.push(chunk)) {
          if (done) return;
          deliver(line);
        }
      });
      res.on('end', () => {
        const rest = lines.end();
        if (rest !== undefined && !done) deliver(rest);
        finish(null);
      });
      // A connection cut mid-stream ends without 'end'.
      res.on('close', () => finish(new Error(`WATCH ${path}: connection closed`)));
      res.on('error', finish);
    });
    req.on('error', finish);
    req.end();
  }, finish);
  return () => {
    done = true;
    close();
  };
}

function parseEvent(line: string): { type: string; object: unknown } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { type, object } = v as { type?: unknown; object?: unknown };
  return typeof type === 'string' ? { type, object } : undefined;
}

/** A non-200 answer: its Status body (if any) as an ApiError with the HTTP status. */
function failed(res: http.IncomingMessage, path: string, finish: (err: unknown) => void): void {
  const chunks: Buffer[] = [];
  const status = res.statusCode ?? 0;
  res.on('data', (c: Buffer) => chunks.push(c));
  res.on('end', () => {
    let doc: unknown;
    try {
      doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      doc = undefined;
    }
    const e = apiErrorFromStatus(doc, status);
    // The HTTP status decides (a 410 relists), whatever code the body claims.
    finish(new ApiError(status, `WATCH ${path}: ${e.message}`, e.reason));
  });
  res.on('close', () => finish(new ApiError(status, `WATCH ${path}: HTTP ${status}`)));
  res.on('error', finish);
}
