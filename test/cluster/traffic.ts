// Traffic helpers for the cluster tests: wait until a client reaches exactly a set of
// servers, ask a node's healthCheckNodePort as a cloud load balancer does, and format
// failed attempts for an assertion message.

import { connectMany, type ConnectResult, type Target, type TimedResult } from '../e2e/lib/client.js';
import { nsExec } from '../e2e/lib/netns.js';
import { until } from '../e2e/lib/wait.js';

/**
 * Polls (20 new connections a round) until `client` reaches exactly `servers` with no
 * failure; throws naming what it saw last. Returns how long that took.
 */
export async function waitServers(client: { readonly ns: string; readonly name?: string }, target: Target, servers: readonly string[], timeoutMs = 20_000): Promise<number> {
  const want = [...servers].sort().join(',');
  let last = '';
  return until(
    `${client.name ?? client.ns} -> ${target.ip}:${target.port} to reach exactly [${want}]`,
    async () => {
      const r = await connectMany(client, { timeoutMs: 1000, ...target }, 20, { concurrency: 4 });
      last = `servers [${r.servers.join(',')}], failures ${JSON.stringify(r.failures.slice(0, 3))}`;
      return r.failures.length === 0 && r.servers.join(',') === want;
    },
    timeoutMs,
    100,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last round: ${last}`);
  });
}

/** The HTTP status a node's healthCheckNodePort answers (0: no answer). */
export async function healthCheck(from: { readonly ns: string }, nodeIP: string, port: number): Promise<number> {
  const r = await nsExec(from.ns, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '1', `http://${nodeIP}:${port}/`], { reject: false });
  return Number(r.stdout.trim()) || 0;
}

export const failuresOf = (rs: readonly TimedResult[]) => rs.filter((r) => !r.result.ok);

export function describeFailures(rs: readonly TimedResult[], limit = 8): string {
  const f = failuresOf(rs);
  return `${f.length} of ${rs.length} failed: ${f
    .slice(0, limit)
    .map((r) => {
      const f = r.result as Extract<ConnectResult, { ok: false }>;
      return `@${Math.round(r.at)}ms ${f.error}${f.phase ? ` (${f.phase})` : ''}${f.localPort ? ` port ${f.localPort}` : ''}`;
    })
    .join('; ')}`;
}

export const serversOf = (rs: readonly TimedResult[]) => [...new Set(rs.flatMap((r) => (r.result.ok ? [r.result.server] : [])))].sort();
