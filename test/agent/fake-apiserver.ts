// A small Kubernetes API server for tests: enough of list (with limit/continue
// pages) and watch for the agent's client (src/agent/watch/kube-client.ts) to talk
// to it over real HTTP.
//
// It keeps Services, EndpointSlices and Nodes with one resourceVersion counter,
// a history of events (so a watch from an old RV replays what it missed, and a
// compacted history answers 410 Gone), label and field selectors (a watcher sees
// DELETED when an object stops matching, ADDED when it starts), server-side
// timeoutSeconds, and BOOKMARK events for watchers that ask for them.
// Knobs for failure: fail the next requests with a status, 410 on the next watch
// (as an ERROR event or an HTTP status), drop every open watch, silence open
// watches, go
// down and come back on the same port, hang (accept and never answer).

import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { KubeClient } from '../../src/agent/watch/kube-client.js';

export type Resource = 'services' | 'endpointslices' | 'nodes' | 'servicecidrs';

interface ResourceInfo {
  readonly path: string;
  readonly kind: string;
  readonly apiVersion: string;
  readonly namespaced: boolean;
}

export const RESOURCES: Record<Resource, ResourceInfo> = {
  services: { path: '/api/v1/services', kind: 'Service', apiVersion: 'v1', namespaced: true },
  endpointslices: { path: '/apis/discovery.k8s.io/v1/endpointslices', kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', namespaced: true },
  nodes: { path: '/api/v1/nodes', kind: 'Node', apiVersion: 'v1', namespaced: false },
  servicecidrs: { path: '/apis/networking.k8s.io/v1/servicecidrs', kind: 'ServiceCIDR', apiVersion: 'networking.k8s.io/v1', namespaced: false },
};

type Obj = Record<string, any>;

type FailVerb = 'list' | 'page' | 'watch';

interface HistoryEntry {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly obj: Obj;
  /** The version before this event (MODIFIED, DELETED): a selector may have matched it only. */
  readonly prev?: Obj;
}

interface Watcher {
  readonly resource: Resource;
  readonly res: http.ServerResponse;
  readonly matches: (o: Obj) => boolean;
  readonly bookmarks: boolean;
  /** A half-open connection: stays open, gets nothing. */
  silent: boolean;
  timer?: NodeJS.Timeout;
}

export interface RecordedRequest {
  readonly resource: Resource | undefined;
  readonly watch: boolean;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly status: number;
}

const clone = <T>(v: T): T => structuredClone(v);

export class FakeApiServer {
  private rv = 100;
  private readonly objects: Record<Resource, Map<string, Obj>> = { services: new Map(), endpointslices: new Map(), nodes: new Map(), servicecidrs: new Map() };
  private readonly history: Record<Resource, HistoryEntry[]> = { services: [], endpointslices: [], nodes: [], servicecidrs: [] };
  /** Watches from an RV below this get 410 Gone. */
  private readonly compactedBelow: Record<Resource, number> = { services: 0, endpointslices: 0, nodes: 0, servicecidrs: 0 };
  private readonly watchers = new Set<Watcher>();
  private readonly sockets = new Set<Socket>();
  /** TCP connections accepted so far (a client that reuses sockets makes fewer than its requests). */
  connections = 0;
  private readonly failures: Array<{ resource: Resource; verb: FailVerb; status: number }> = [];
  private readonly goneNext: Partial<Record<Resource, { how: 'event' | 'status'; times: number }>> = {};
  readonly requests: RecordedRequest[] = [];
  /** Longest a watch stays open whatever timeoutSeconds asks (tests keep this short). */
  maxWatchSeconds = 3600;
  private server: http.Server;
  private port = 0;
  private host = '127.0.0.1';

  private constructor() {
    this.server = this.makeServer();
  }

  /** `host`: the address to listen on (default loopback). */
  static async start(host = '127.0.0.1'): Promise<FakeApiServer> {
    const f = new FakeApiServer();
    f.host = host;
    await f.listen(0);
    return f;
  }

  get url(): string {
    return `http://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** A client for this server: plain http and a bearer token. */
  kubeConfig(): KubeClient {
    return new KubeClient({ server: this.url, insecureSkipTLSVerify: false, token: { data: 'test-token' } });
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  // ---- objects

  /** Creates or replaces an object (malformed ones too: only metadata.name is needed); returns its new RV. */
  upsert(resource: Resource, obj: Obj): string {
    const info = RESOURCES[resource];
    const o = clone(obj);
    o.metadata ??= {};
    if (info.namespaced) o.metadata.namespace ??= 'default';
    const key = this.key(resource, o);
    const prev = this.objects[resource].get(key);
    o.metadata.resourceVersion = String(++this.rv);
    o.metadata.uid ??= prev?.metadata?.uid ?? `uid-${key}`;
    this.objects[resource].set(key, o);
    this.record(resource, { rv: this.rv, type: prev ? 'MODIFIED' : 'ADDED', obj: o, ...(prev ? { prev } : {}) });
    return o.metadata.resourceVersion;
  }

  remove(resource: Resource, namespace: string | undefined, name: string): void {
    const key = namespace ? `${namespace}/${name}` : name;
    const prev = this.objects[resource].get(key);
    if (!prev) throw new Error(`fake apiserver: no ${resource} ${key}`);
    this.objects[resource].delete(key);
    const o = clone(prev);
    o.metadata.resourceVersion = String(++this.rv);
    this.record(resource, { rv: this.rv, type: 'DELETED', obj: o, prev });
  }

  /** Sends a BOOKMARK at the current RV to the watchers that asked for bookmarks. */
  bookmark(resource: Resource): void {
    const info = RESOURCES[resource];
    for (const w of this.watchers) {
      if (w.resource !== resource || !w.bookmarks || w.silent) continue;
      send(w.res, { type: 'BOOKMARK', object: { kind: info.kind, apiVersion: info.apiVersion, metadata: { resourceVersion: String(this.rv) } } });
    }
  }

  // ---- failure knobs

  /**
   * The next `times` requests of this verb answer `status` with a Status body. `list`: any
   * list request; `page`: only a list request that carries a continue token (a list that
   * fails part-way).
   */
  failNext(resource: Resource, verb: FailVerb, status = 500, times = 1): void {
    for (let i = 0; i < times; i++) this.failures.push({ resource, verb, status });
  }

  /** The next watch gets 410 Gone: an ERROR event on a 200 stream (what the API server does), or an HTTP 410. */
  goneOnNextWatch(resource: Resource, how: 'event' | 'status' = 'event', times = 1): void {
    this.goneNext[resource] = { how, times };
  }

  /** Forgets the event history: any watch from an RV before now gets 410. */
  compact(resource: Resource): void {
    this.history[resource] = [];
    this.compactedBelow[resource] = this.rv;
  }

  /** Cuts every open watch connection (of one resource, or all) without a clean end. */
  dropWatches(resource?: Resource): number {
    let n = 0;
    for (const w of [...this.watchers]) {
      if (resource && w.resource !== resource) continue;
      this.endWatch(w);
      w.res.socket?.destroy();
      n++;
    }
    return n;
  }

  /**
   * The open watches of the resource go quiet, as over a half-open connection: they
   * stay open and get nothing more. Watches opened later work (and replay from their RV).
   */
  silenceOpenWatches(resource: Resource): number {
    let n = 0;
    for (const w of this.watchers) if (w.resource === resource) (w.silent = true), n++;
    return n;
  }

  /** hang()/unhang() state; see there. */
  private hung = false;
  private readonly hungRequests: http.ServerResponse[] = [];

  /**
   * The API server hangs: open watches get nothing more, and new requests (list or
   * watch) are accepted and never answered, as over a dead connection or a wedged
   * server. They stay unanswered after unhang(), as requests lost in a hang do.
   */
  hang(): void {
    this.hung = true;
    for (const w of this.watchers) w.silent = true;
  }

  /** New requests are answered again; those made before (open watches too) stay silent. */
  unhang(): void {
    this.hung = false;
  }

  /** Requests that arrived while hung (never answered). */
  get hungRequestCount(): number {
    return this.hungRequests.length;
  }

  /** Stops listening and cuts every connection: the API server is unreachable. */
  async down(): Promise<void> {
    for (const w of [...this.watchers]) this.endWatch(w);
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    this.server = this.makeServer();
    await this.listen(this.port);
  }

  async close(): Promise<void> {
    await this.down();
  }

  // ---- observation helpers

  activeWatches(resource: Resource): number {
    return [...this.watchers].filter((w) => w.resource === resource).length;
  }

  requestsFor(resource: Resource, watch: boolean): RecordedRequest[] {
    return this.requests.filter((r) => r.resource === resource && r.watch === watch);
  }

  // ---- HTTP

  private makeServer(): http.Server {
    const server = http.createServer((req, res) => this.handle(req, res));
    server.on('connection', (s) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return server;
  }

  private listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const resource = (Object.keys(RESOURCES) as Resource[]).find((r) => RESOURCES[r].path === url.pathname);
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    const record = (status: number) =>
      this.requests.push({ resource, watch, query: url.searchParams, authorization: req.headers.authorization, status });
    // Hung: the connection is accepted and the request read, and nothing ever comes back.
    if (this.hung) return void this.hungRequests.push(res);
    if (!resource || req.method !== 'GET') {
      record(404);
      return status(res, 404, 'NotFound', `${req.method} ${url.pathname}: not served by the fake`);
    }
    const verb = watch ? 'watch' : url.searchParams.get('continue') ? 'page' : 'list';
    const fi = this.failures.findIndex((f) => f.resource === resource && (f.verb === verb || (f.verb === 'list' && verb === 'page')));
    if (fi >= 0) {
      const f = this.failures.splice(fi, 1)[0]!;
      record(f.status);
      return status(res, f.status, 'InternalError', 'injected failure');
    }
    const matches = selectorMatcher(url.searchParams.get('labelSelector'), url.searchParams.get('fieldSelector'));
    if (!watch) {
      record(200);
      const info = RESOURCES[resource];
      // Pages as the API server cuts them: by key, `continue` an opaque token (here the
      // first page's RV and the last key sent), every page reporting the first page's
      // RV. By key, not offset: an object deleted between pages must not shift another
      // out of the list (the watch from that RV replays what changed meanwhile).
      const limit = Number(url.searchParams.get('limit') ?? '0');
      const token = url.searchParams.get('continue');
      const cut = token ? token.indexOf(':') : -1;
      const snapshotRV = token ? Number(token.slice(0, cut)) : this.rv;
      const after = token ? token.slice(cut + 1) : undefined;
      const all = [...this.objects[resource]].filter(([key, o]) => (after === undefined || key > after) && matches(o)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const page = limit > 0 ? all.slice(0, limit) : all;
      const items = page.map(([, o]) => clone(o));
      const more = page.length < all.length;
      const metadata = { resourceVersion: String(snapshotRV), ...(more ? { continue: `${snapshotRV}:${page[page.length - 1]![0]}` } : {}) };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: `${info.kind}List`, apiVersion: info.apiVersion, metadata, items }));
      return;
    }
    this.startWatch(resource, url.searchParams, matches, res, record);
  }

  private startWatch(
    resource: Resource,
    q: URLSearchParams,
    matches: (o: Obj) => boolean,
    res: http.ServerResponse,
    record: (status: number) => void,
  ): void {
    const from = Number(q.get('resourceVersion') ?? '');
    const next = this.goneNext[resource];
    if (next && --next.times <= 0) delete this.goneNext[resource];
    const gone = next?.how;
    const expired = gone !== undefined || (Number.isFinite(from) && from < this.compactedBelow[resource]);
    if (expired && gone === 'status') {
      record(410);
      return status(res, 410, 'Expired', `too old resource version: ${from}`);
    }
    record(200);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    if (expired) {
      send(res, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from}`, reason: 'Expired', code: 410 } });
      res.end();
      return;
    }
    const w: Watcher = { resource, res, matches, bookmarks: q.get('allowWatchBookmarks') === 'true', silent: false };
    this.watchers.add(w);
    res.on('close', () => this.endWatch(w));
    const timeout = Math.min(Number(q.get('timeoutSeconds') ?? '1800') || 1800, this.maxWatchSeconds);
    w.timer = setTimeout(() => {
      this.endWatch(w);
      res.end();
    }, timeout * 1000);
    // What happened after the RV the client has: replayed in order.
    for (const h of this.history[resource]) if (h.rv > from) this.deliver(w, h);
  }

  private endWatch(w: Watcher): void {
    clearTimeout(w.timer);
    this.watchers.delete(w);
  }

  private record(resource: Resource, h: HistoryEntry): void {
    this.history[resource].push(h);
    for (const w of this.watchers) if (w.resource === resource && !w.silent) this.deliver(w, h);
  }

  /** One history entry to one watcher, seen through its selectors. */
  private deliver(w: Watcher, h: HistoryEntry): void {
    const info = RESOURCES[w.resource];
    const now = h.type !== 'DELETED' && w.matches(h.obj);
    const before = h.prev !== undefined && w.matches(h.prev);
    let type: string | undefined;
    if (h.type === 'DELETED') type = before ? 'DELETED' : undefined;
    else if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    if (!type) return;
    send(w.res, { type, object: { kind: info.kind, apiVersion: info.apiVersion, ...clone(h.obj) } });
  }

  private key(resource: Resource, o: Obj): string {
    const name = o.metadata?.name;
    if (typeof name !== 'string') throw new Error('fake apiserver: an object needs metadata.name');
    return RESOURCES[resource].namespaced ? `${o.metadata.namespace}/${name}` : name;
  }
}

function send(res: http.ServerResponse, event: unknown): void {
  if (!res.writableEnded) res.write(`${JSON.stringify(event)}\n`);
}

function status(res: http.ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

/** Label selector terms (k=v, k==v, k!=v, k, !k) and field selector terms (metadata.name/namespace), ANDed. */
export function selectorMatcher(labelSelector: string | null, fieldSelector: string | null): (o: Obj) => boolean {
  const tests: Array<(o: Obj) => boolean> = [];
  for (const term of (labelSelector ?? '').split(',').map((t) => t.trim()).filter(Boolean)) {
    const labels = (o: Obj): Record<string, string> => o.metadata?.labels ?? {};
    let m: RegExpMatchArray | null;
    if ((m = term.match(/^!(.+)$/))) {
      const k = m[1]!;
      tests.push((o) => !(k in labels(o)));
    } else if ((m = term.match(/^(.+?)!=(.*)$/))) {
      const [k, v] = [m[1]!, m[2]!];
      tests.push((o) => labels(o)[k] !== v);
    } else if ((m = term.match(/^(.+?)==?(.*)$/))) {
      const [k, v] = [m[1]!, m[2]!];
      tests.push((o) => labels(o)[k] === v);
    } else {
      tests.push((o) => term in labels(o));
    }
  }
  for (const term of (fieldSelector ?? '').split(',').map((t) => t.trim()).filter(Boolean)) {
    const m = term.match(/^metadata\.(name|namespace)==?(.*)$/);
    if (!m) throw new Error(`fake apiserver: field selector ${term} not supported`);
    const [f, v] = [m[1]!, m[2]!];
    tests.push((o) => o.metadata?.[f] === v);
  }
  return (o) => tests.every((t) => t(o));
}
