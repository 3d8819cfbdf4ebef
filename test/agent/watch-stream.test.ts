// The watch stream and the paged list on the wire: events cut anywhere by the
// network (mid-line, mid-UTF-8 character) arrive whole; a 410 as an HTTP status or
// as an ERROR event reads as Gone; a line that is not an event ends the watch with
// an error; a list comes in limit/continue pages.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isGone } from '../../src/agent/watch/api-error.js';
import { LineSplitter } from '../../src/agent/watch/json-lines.js';
import { KubeClient } from '../../src/agent/watch/kube-client.js';
import { listRaw } from '../../src/agent/watch/raw-list.js';
import { openWatch } from '../../src/agent/watch/watch-stream.js';
import { FakeApiServer } from './fake-apiserver.js';
import { apiSlice } from './objects.js';

describe('LineSplitter', () => {
  test('keeps an unfinished line until its newline; drops blank lines; the end gives the rest', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":'), []);
    assert.deepEqual(s.push('1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}\n\n{"c":3}\n{"d"'), ['{"b":2}', '{"c":3}']);
    assert.equal(s.end(), '{"d"');
    assert.equal(s.end(), undefined);
  });
});

/** A raw HTTP server whose handler writes the response as the test wants it cut. */
async function rawServer(handler: http.RequestListener): Promise<{ client: KubeClient; close: () => Promise<void> }> {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const client = new KubeClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, insecureSkipTLSVerify: false });
  return {
    client,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Seen {
  events: Array<[string, unknown]>;
  done: Promise<unknown>;
}

function watch(client: KubeClient): Seen {
  const events: Array<[string, unknown]> = [];
  let resolve!: (e: unknown) => void;
  const done = new Promise<unknown>((r) => (resolve = r));
  openWatch(client, '/api/v1/services', { resourceVersion: '5', allowWatchBookmarks: true }, { onEvent: (t, o) => events.push([t, o]), onDone: (e) => resolve(e) });
  return { events, done };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('openWatch', () => {
  test('events cut mid-line and mid-character by the network arrive whole, in order; a clean end is done(null)', async () => {
    const events = [
      { type: 'ADDED', object: { metadata: { name: 'café-ü', resourceVersion: '6' } } },
      { type: 'BOOKMARK', object: { metadata: { resourceVersion: '7' } } },
      { type: 'DELETED', object: { metadata: { name: 'x', resourceVersion: '8' } } },
    ];
    const bytes = Buffer.from(events.map((e) => JSON.stringify(e) + '\n').join(''), 'utf8');
    const eAcute = bytes.indexOf(Buffer.from('é', 'utf8'));
    // Cuts: inside the two bytes of "é", and at a few other odd places.
    const cuts = [3, eAcute + 1, eAcute + 9, bytes.indexOf(0x0a) + 1 + 4, bytes.length - 2];
    let query: URLSearchParams | undefined;
    const srv = await rawServer(async (req, res) => {
      query = new URL(req.url!, 'http://x').searchParams;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      let from = 0;
      for (const at of cuts) {
        res.write(bytes.subarray(from, at));
        from = at;
        await tick();
      }
      res.end(bytes.subarray(from));
    });
    try {
      const w = watch(srv.client);
      assert.equal(await w.done, null);
      assert.deepEqual(w.events, events.map((e) => [e.type, e.object]));
      assert.equal(query?.get('watch'), '1');
      assert.equal(query?.get('resourceVersion'), '5');
      assert.equal(query?.get('allowWatchBookmarks'), 'true');
    } finally {
      await srv.close();
    }
  });

  test('410 as an HTTP status: done(ApiError 410), which isGone reads as "relist"', async () => {
    const srv = await rawServer((_req, res) => {
      res.writeHead(410, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Expired', message: 'too old resource version: 5 (9)', code: 410 }));
    });
    try {
      const err = await watch(srv.client).done;
      assert.ok(isGone(err), String(err));
      assert.match(String(err), /too old resource version/);
    } finally {
      await srv.close();
    }
  });

  test('410 as an ERROR event on a 200 stream is handed on as the event', async () => {
    const srv = await rawServer((_req, res) => {
      res.writeHead(200);
      res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } }) + '\n');
    });
    try {
      const w = watch(srv.client);
      assert.equal(await w.done, null);
      assert.deepEqual(w.events, [['ERROR', { kind: 'Status', code: 410, reason: 'Expired' }]]);
    } finally {
      await srv.close();
    }
  });

  test('a line that is not a watch event ends the watch with an error (not silently dropped)', async () => {
    const srv = await rawServer((_req, res) => {
      res.writeHead(200);
      res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
      res.write('<html>proxy error</html>\n');
      // Left open: the client must give up on its own.
    });
    try {
      const w = watch(srv.client);
      assert.match(String(await w.done), /not a watch event: "<html>proxy error<\/html>"/);
      assert.equal(w.events.length, 1);
    } finally {
      await srv.close();
    }
  });

  test('a connection cut mid-stream is an error, not a clean end', async () => {
    const srv = await rawServer((_req, res) => {
      res.writeHead(200);
      res.write('{"type":"ADDED","object":{"metadata":{"name":"a"}}}\n{"type":"MOD');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    try {
      const w = watch(srv.client);
      const err = await w.done;
      assert.ok(err instanceof Error, `expected an error, got ${String(err)}`);
      assert.equal(w.events.length, 1);
    } finally {
      await srv.close();
    }
  });
});

describe('listRaw pages', () => {
  test('limit/continue: every page fetched, RV "0" only on the first request, items in order', async () => {
    const api = await FakeApiServer.start();
    try {
      for (let i = 0; i < 5; i++) api.upsert('endpointslices', apiSlice(`s${i}`, [`10.1.0.${i + 1}`], { name: `s${i}-x` }));
      const client = api.kubeConfig();
      const list = await listRaw(client, '/apis/discovery.k8s.io/v1/endpointslices', { resourceVersion: '0', labelSelector: '!service.kubernetes.io/headless' }, 5000, undefined, 2);
      assert.deepEqual(list.items.map((o) => (o as { metadata: { name: string } }).metadata.name), ['s0-x', 's1-x', 's2-x', 's3-x', 's4-x']);
      assert.equal(list.resourceVersion, api.resourceVersion);
      const qs = api.requestsFor('endpointslices', false).map((r) => r.query);
      assert.deepEqual(
        qs.map((q) => [q.get('limit'), q.get('resourceVersion'), q.get('continue'), q.get('labelSelector')]),
        [
          ['2', '0', null, '!service.kubernetes.io/headless'],
          ['2', null, '105:default/s1-x', '!service.kubernetes.io/headless'],
          ['2', null, '105:default/s3-x', '!service.kubernetes.io/headless'],
        ],
      );
    } finally {
      await api.close();
    }
  });
});
