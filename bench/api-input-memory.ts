// What API mode's input costs the agent, in process: the fake API server
// (test/e2e/fixtures/fake-apiserver-child.ts) in a child serves S Services and S
// EndpointSlices x E endpoints (the synthetic cluster of bench/synthetic.ts, the objects
// bench/agent-memory.ts gives it); a second child, with the agent's node options and heap
// policy, runs the agent's Service and EndpointSlice watches (src/agent/watch) against it
// until both stores are synced, and reports
//   - VmHWM before the watches start (modules loaded) and once both stores are synced:
//     the lists' peak;
//   - the heap kept after gc before and after: what the stores hold;
//   - the time from start to both synced.
// No kernel, no netns: the lists alone, for a before/after of the watch layer.
//
//   node --import tsx bench/api-input-memory.ts [SERVICES] [ENDPOINTS]   (default 10000 10)

import { spawn, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { applyHeapPolicy } from '../src/agent/heap-policy.js';
import { AGENT_NODE_OPTIONS } from '../src/agent/node-options.js';
import { KubeClient } from '../src/agent/watch/kube-client.js';
import { watchEndpointSlices, watchServices } from '../src/agent/watch/index.js';
import { sliceAt } from './synthetic.js';
import { apiService, sliceManifest } from './synthetic-manifests.js';
import { settledHeap } from './settled-heap.js';

const FAKE_API = fileURLToPath(new URL('../test/e2e/fixtures/fake-apiserver-child.ts', import.meta.url));
const SELF = fileURLToPath(import.meta.url);
const MiB = 1024 * 1024;

const hwmMiB = (): number => Number(/^VmHWM:\s*(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? NaN) / 1024;

async function measure(server: string): Promise<void> {
  applyHeapPolicy('memory');
  const client = new KubeClient({ server, insecureSkipTLSVerify: false, token: { data: 'bench' } });
  const quiet = { debug() {}, info() {}, warn() {}, error() {} };
  const heapBefore = settledHeap();
  const hwmBefore = hwmMiB();
  const t0 = performance.now();
  const services = watchServices({ kubeConfig: client, mode: 'coexist', log: quiet }).start();
  const slices = watchEndpointSlices({ kubeConfig: client, log: quiet }).start();
  await Promise.all([services.store.waitForSync(), slices.store.waitForSync()]);
  const syncMs = performance.now() - t0;
  const hwmSynced = hwmMiB();
  const heapKept = settledHeap();
  console.log(
    JSON.stringify({
      services: services.store.snapshot().length,
      slices: slices.store.snapshot().length,
      syncMs: Math.round(syncMs),
      hwmBeforeMiB: Math.round(hwmBefore),
      hwmSyncedMiB: Math.round(hwmSynced),
      heapBeforeMiB: Math.round((heapBefore / MiB) * 10) / 10,
      heapKeptMiB: Math.round((heapKept / MiB) * 10) / 10,
    }),
  );
  await Promise.all([services.stop(), slices.stop()]);
  process.exit(0);
}

async function main(n: number, perService: number): Promise<void> {
  const api = spawn(process.execPath, ['--import', 'tsx', FAKE_API], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = new Map<number, () => void>();
  let ready: (port: number) => void;
  const port = new Promise<number>((r) => (ready = r));
  createInterface({ input: api.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as { ready?: boolean; port?: number; id?: number; ok?: boolean; error?: string };
    if (m.ready) ready(m.port!);
    else if (m.id !== undefined) {
      if (!m.ok) throw new Error(`fake API server: ${m.error}`);
      waiting.get(m.id)?.();
      waiting.delete(m.id);
    }
  });
  let id = 0;
  const upsert = (resource: string, obj: unknown): Promise<void> =>
    new Promise((resolve) => {
      waiting.set(++id, resolve);
      api.stdin!.write(`${JSON.stringify({ id, op: 'upsert', resource, obj })}\n`);
    });
  try {
    const server = `http://127.0.0.1:${await port}`;
    for (let i = 0; i < n; i += 200) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + 200); j++) batch.push(upsert('services', apiService(j)), upsert('endpointslices', sliceManifest(sliceAt(j, 0, perService))));
      await Promise.all(batch);
    }
    const out = execFileSync(process.execPath, [...AGENT_NODE_OPTIONS.split(' '), '--expose-gc', '--import', 'tsx', SELF, '--measure', server], { encoding: 'utf8' });
    process.stdout.write(out);
  } finally {
    api.stdin!.end();
    api.kill();
  }
}

const args = process.argv.slice(2);
if (args[0] === '--measure') await measure(args[1]!);
else await main(Number(args[0] ?? 10000), Number(args[1] ?? 10));
