// `node --expose-gc --max-semi-space-size=1 --import tsx bench/traffic-exporter-memory.ts [SERVICES] [ENDPOINTS]`:
// the agent's traffic exporter (src/agent/traffic-metrics.ts) in process, over a reader that
// returns what a node of SERVICES x ENDPOINTS counts (packets, bytes and new connections per
// Service port and per endpoint), scraped three times through the exposition the agent sends
// (Registry.chunks). Prints the heap kept after each scrape (after a full GC) against before
// the first, and the scrape's time: what the exporter itself holds between scrapes and costs,
// apart from the readers and the agent (bench/agent-memory.ts measures the whole).
import { Registry } from '../src/agent/prom/index.js';
import { registerTrafficMetrics } from '../src/agent/traffic-metrics.js';
import { trafficSample, type TrafficSample } from '../src/backends/traffic.js';
import { DEFAULT_PROXY_CONFIG } from '../src/model/config.js';
import type { RenderInput } from '../src/model/render-input.js';
import { PLAN_API_VERSION, PLAN_KIND, PROXY_NAME, type PlanService } from '../src/model/plan.js';

const services = Number(process.argv[2] ?? 44000);
const endpoints = Number(process.argv[3] ?? 1);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const ip = (base: number, i: number) => `${base}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const svcs: PlanService[] = Array.from({ length: services }, (_, i) => ({
  namespace: 'bench', name: `svc-${String(i).padStart(6, '0')}`, type: 'ClusterIP', proxyName: PROXY_NAME, headless: false,
  ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', clusterIPs: [ip(10, i)], selector: { app: `a${i}` }, externalIPs: [], loadBalancerIngress: [],
  loadBalancerSourceRanges: [], sessionAffinity: { type: 'None' }, externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', publishNotReadyAddresses: false,
  ports: [{ name: '', protocol: 'TCP', port: 80, targetPort: 8080 }],
}));
const input: RenderInput = {
  plan: { apiVersion: PLAN_API_VERSION, kind: PLAN_KIND, serviceCIDRs: ['10.0.0.0/8'], nodePortRange: { min: 30000, max: 32767 }, services: svcs },
  endpointSlices: svcs.map((s, i) => ({
    namespace: 'bench', name: `${s.name}-a`, serviceName: s.name, addressType: 'IPv4' as const, ports: [{ name: '', port: 8080, protocol: 'TCP' as const }],
    endpoints: Array.from({ length: endpoints }, (_, j) => ({ address: ip(100 + j, i), ready: true, serving: true, terminating: false })),
  })),
  node: { name: 'node1', addresses: ['192.168.50.1'], podCIDRs: ['10.244.1.0/24'] },
  config: DEFAULT_PROXY_CONFIG,
  mode: 'coexist',
};

// What a reader returns: fresh objects at every read, as the kernel's counters move.
let round = 0;
const read = async (): Promise<TrafficSample[]> => {
  round++;
  const out: TrafficSample[] = [];
  for (let i = 0; i < services; i++) {
    const id = { namespace: 'bench', service: svcs[i]!.name, port: 80, protocol: 'TCP' };
    // Made as the readers make them (trafficSample: object literals; spread, each sample was ~4x larger).
    out.push(trafficSample(id, 'packets', 100 * round + i), trafficSample(id, 'bytes', 6000 * round + i), trafficSample(id, 'new_connections', round + i));
    // Per endpoint, only what a filter would let through is returned by the agent's readers; this reader returns the first Services' alone.
    if (i < 2000 / endpoints) for (let j = 0; j < endpoints; j++) out.push(trafficSample(id, 'endpoint_packets', round, undefined, `${ip(100 + j, i)}:8080`));
  }
  return out;
};

const registry = new Registry();
let t = 0;
registerTrafficMetrics(registry, { read, input: () => input, now: () => t });
const heap = () => {
  gc();
  return process.memoryUsage().heapUsed / 1048576;
};
const base = heap();
for (let i = 1; i <= 3; i++) {
  t += 60_000;
  const start = performance.now();
  let bytes = 0;
  // The heap's high-water mark as the pieces come (sampled at each): what the scrape adds while it runs.
  let highest = 0;
  for await (const piece of registry.chunks()) {
    bytes += piece.length;
    highest = Math.max(highest, process.memoryUsage().heapUsed / 1048576);
  }
  const ms = performance.now() - start;
  console.log(`scrape ${i}: ${bytes} bytes in ${ms.toFixed(0)} ms; heap used at most ${(highest - base).toFixed(1)} MB over before the first while it ran, kept after it ${(heap() - base).toFixed(1)} MB`);
}
