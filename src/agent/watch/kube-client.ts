// The HTTP side of reaching the API server: URL, TLS and credentials for one
// KubeEndpoint, on node:http/https. This replaces @kubernetes/client-node, of which
// the agent used only KubeConfig and the low-level Watch: importing it alone cost
// ~52 MB of RSS (~26 MB of heap) and ~1 s, a third of an idle agent (src/agent/README.md,
// "Memory").
//
// Certificates and keys are read once, when the first request is made (a missing
// file is then an error of that request, retried with the backoff, and names the
// file). A token file is re-read for every request: projected ServiceAccount tokens
// rotate, and the agent's requests are few (a list per relist, a watch per resource
// every ~35 s), so there is nothing to gain from caching it beyond surviving a read
// that fails mid-rotation (the last good token is used then).

import { readFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { KubeEndpoint, Secret } from './kubeconfig.js';

export type ReadText = (file: string) => Promise<string>;

const readText: ReadText = (file) => readFile(file, 'utf8');

export class KubeClient {
  private tlsAgent: https.Agent | undefined;
  /**
   * Plain http (a local or test API server): no keep-alive either. Node 20's global
   * agent keeps idle sockets 5 s and servers close them after their own keepAliveTimeout
   * (Node's: 5 s): a watch written on a socket the server is closing fails with
   * "socket hang up". Seen at 44k Services, where the first sync held the event loop
   * past that between the list and the watch: every watch failed once and backed off.
   */
  private readonly plainAgent = new http.Agent({ keepAlive: false });
  private lastToken: string | undefined;

  constructor(
    readonly endpoint: KubeEndpoint,
    private readonly read: ReadText = readText,
  ) {}

  get server(): string {
    return this.endpoint.server;
  }

  /** The URL of `path` on the server with `query` (values stringified). */
  url(path: string, query: Readonly<Record<string, string | number | boolean>> = {}): URL {
    const url = new URL(this.endpoint.server + path);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, String(v));
    return url;
  }

  /** The transport for a URL of this server. */
  transport(url: URL): typeof http | typeof https {
    return url.protocol === 'https:' ? https : http;
  }

  /** Request options carrying TLS (an Agent with CA, client certificate, verification) and the Authorization header. */
  async requestOptions(): Promise<http.RequestOptions> {
    const headers: http.OutgoingHttpHeaders = { Accept: 'application/json', 'User-Agent': 'svcplane-agent' };
    const token = await this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    const options: http.RequestOptions = { method: 'GET', headers };
    options.agent = this.endpoint.server.startsWith('https:') ? await this.httpsAgent() : this.plainAgent;
    return options;
  }

  private async httpsAgent(): Promise<https.Agent> {
    if (this.tlsAgent) return this.tlsAgent;
    const e = this.endpoint;
    const [ca, cert, key] = await Promise.all([e.ca, e.clientCert, e.clientKey].map((s) => (s ? this.secret(s) : undefined)));
    // keepAlive off: a watch holds its socket for 30-40 s and a list is rare; a
    // socket reused after an API server restart would only add a failed request.
    this.tlsAgent = new https.Agent({
      ...(ca ? { ca } : {}),
      ...(cert ? { cert } : {}),
      ...(key ? { key } : {}),
      rejectUnauthorized: !e.insecureSkipTLSVerify,
      ...(e.tlsServerName ? { servername: e.tlsServerName } : {}),
    });
    return this.tlsAgent;
  }

  private async token(): Promise<string | undefined> {
    const t = this.endpoint.token;
    if (!t) return undefined;
    if ('data' in t) return t.data;
    try {
      this.lastToken = (await this.read(t.file)).trim();
    } catch (e) {
      if (this.lastToken === undefined) throw new Error(`token file ${t.file}: ${(e as Error).message}`);
    }
    return this.lastToken;
  }

  private async secret(s: Secret): Promise<string> {
    if ('data' in s) return s.data;
    try {
      return await this.read(s.file);
    } catch (e) {
      throw new Error(`${s.file}: ${(e as Error).message}`);
    }
  }
}
