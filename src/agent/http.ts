// The agent's HTTP endpoints (node:http): /healthz and /livez on the health
// address, /metrics on the metrics address, and one listener per healthCheckNodePort.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Registry } from './prom/index.js';
import { inputError } from '../model/errors.js';
import { healthCheckResponse, type HealthCheckService, type HealthzStatus, type LivezStatus } from './health.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** "0.0.0.0:10256", "[::]:10256", ":10256" -> host and port. */
export function parseHostPort(s: string, flag: string): HostPort {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw inputError(undefined, flag, `expected HOST:PORT, got ${JSON.stringify(s)}`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A listener could not be opened (port taken, address not on this node): names the address and the cause. */
export class ListenError extends Error {
  constructor(
    readonly at: HostPort,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    const why =
      code === 'EADDRINUSE' ? 'address already in use (another process, e.g. kube-proxy, listens there)'
      : code === 'EADDRNOTAVAIL' ? 'address not available on this node'
      : code === 'EACCES' ? 'permission denied'
      : cause instanceof Error ? cause.message : String(cause);
    super(`cannot listen on ${formatHostPort(at)}: ${why}`);
  }
}

export function formatHostPort(at: HostPort): string {
  return `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
}

function listen(server: Server, at: HostPort): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new ListenError(at, e.code, e)));
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** Where the health answers come from (the agent computes them per request). */
export interface HealthSources {
  readonly livez: () => LivezStatus;
  readonly healthz: () => HealthzStatus;
  /** Told of every answer (kubeproxy_proxy_healthz_total / _livez_total count them by code). */
  readonly answered?: (path: '/healthz' | '/livez', code: number) => void;
}

/**
 * /healthz and /livez, as kube-proxy: /livez only says whether the rules are kept
 * fresh (a liveness probe restarts an agent that stopped syncing); /healthz also
 * says whether load balancers should use this node (KEP-3836) and whether
 * anything keeps the agent from doing its job (sysctls, lost API watches).
 */
export function healthHandler(h: HealthSources) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/livez' || path === '/healthz') {
      const s = path === '/livez' ? h.livez() : h.healthz();
      const code = s.healthy ? 200 : 503;
      h.answered?.(path, code);
      return json(res, code, s.body);
    }
    json(res, 404, { error: 'not found' });
  };
}

/** What kube-proxy's metrics port also answers: /proxyMode (text) and /configz (JSON). */
export interface ProxyInfo {
  readonly proxyMode: string;
  readonly configz: () => unknown;
}

/**
 * /metrics (and the health paths, /proxyMode and /configz, as kube-proxy's metrics
 * port answers them); `beforeScrape` refreshes computed gauges.
 */
export function metricsHandler(registry: Registry, health?: HealthSources, beforeScrape?: () => void, info?: ProxyInfo) {
  const healthPaths = health ? healthHandler(health) : undefined;
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if ((path === '/healthz' || path === '/livez') && healthPaths) return healthPaths(req, res);
    if (path === '/proxyMode' && info) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      return void res.end(info.proxyMode);
    }
    if (path === '/configz' && info) return json(res, 200, info.configz());
    if (path !== '/metrics') return json(res, 404, { error: 'not found' });
    beforeScrape?.();
    void sendMetrics(registry, res);
  };
}

/**
 * The exposition written as it is made (Registry.chunks), waiting for the socket to drain.
 * A failure before the first piece answers 500; after it, the response is cut short (the
 * status is sent), which the scraper sees as a failed scrape, not a partial one.
 */
async function sendMetrics(registry: Registry, res: ServerResponse): Promise<void> {
  const pieces = registry.chunks();
  let started = false;
  try {
    for await (const piece of pieces) {
      if (!started) {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        started = true;
      }
      if (!res.write(piece)) await new Promise<void>((resolve) => {
        const done = () => (res.off('drain', done), res.off('close', done), resolve());
        res.on('drain', done).on('close', done);
      });
      if (res.destroyed) return void (await pieces.return());
    }
    res.end();
  } catch (e) {
    if (started) res.destroy(e instanceof Error ? e : new Error(String(e)));
    else json(res, 500, { error: String(e) });
  }
}

export async function startServer(at: HostPort, handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  return listen(createServer(handler), at);
}

/**
 * One listener per healthCheckNodePort, on every address. `update` opens the new
 * ports, closes the ones gone, and changes the counts the open ones answer with.
 */
export class HealthCheckServers {
  private readonly servers = new Map<number, { server: Server; svc: HealthCheckService }>();

  constructor(
    private readonly proxyHealthy: () => boolean,
    private readonly onError: (port: number, e: unknown) => void = () => {},
    private readonly host = '0.0.0.0',
  ) {}

  ports(): number[] {
    return [...this.servers.keys()].sort((a, b) => a - b);
  }

  async update(services: readonly HealthCheckService[]): Promise<void> {
    const wanted = new Map(services.map((s) => [s.port, s]));
    for (const [port, entry] of [...this.servers]) {
      if (wanted.has(port)) continue;
      this.servers.delete(port);
      await closeServer(entry.server);
    }
    for (const [port, svc] of wanted) {
      const have = this.servers.get(port);
      if (have) {
        have.svc = svc;
        continue;
      }
      const entry = { server: createServer(), svc };
      entry.server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
        const r = healthCheckResponse(entry.svc, this.proxyHealthy());
        json(res, r.status, r.body);
      });
      try {
        await listen(entry.server, { host: this.host, port });
        this.servers.set(port, entry);
      } catch (e) {
        this.onError(port, e);
      }
    }
  }

  async close(): Promise<void> {
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((e) => closeServer(e.server)));
  }
}
