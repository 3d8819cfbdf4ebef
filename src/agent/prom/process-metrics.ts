// The process metrics the agent exported through prom-client's collectDefaultMetrics,
// same names, help, types, labels and order, read when scraped: CPU, start time, memory
// (/proc/self/status), file descriptors, libuv handles, requests and resources, the V8
// heap and its spaces, node's version, the event loop's delay and GC pauses. Only
// process_resident_memory_bytes is on the dashboard; the rest are kept because
// Prometheus setups scrape them from any node process.

import { readdirSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { registerEventLoopLag, registerGcDurations } from './event-loop-metrics.js';
import { Counter, Gauge } from './metric.js';
import type { Registry } from './registry.js';

const START_SECONDS = Math.round(Date.now() / 1000 - process.uptime());

/** kB fields of /proc/self/status, in bytes. */
function procStatus(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync('/proc/self/status', 'utf8').split('\n')) {
    const m = /^(VmSize|VmRSS|VmData):\s*(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

/** The soft limit on open files, or undefined without procfs. */
function maxFds(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    return line ? Number(line.split(/  +/)[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Counts by name: a gauge with a `type` label per name, reset first so that gone types go. */
function setCounts(g: Gauge<'type'>, names: readonly string[]): void {
  g.reset();
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  for (const [type, n] of counts) g.set({ type }, n);
}

const constructorNames = (xs: readonly unknown[]): string[] =>
  xs.flatMap((x) => ((x as { constructor?: { name?: string } } | null)?.constructor?.name !== undefined ? [(x as { constructor: { name: string } }).constructor.name] : []));

// process._getActiveHandles/_getActiveRequests: undocumented, what prom-client read; absent, nothing is exported.
const internals = process as unknown as { _getActiveHandles?: () => unknown[]; _getActiveRequests?: () => unknown[] };

export function registerProcessMetrics(registry: Registry): void {
  const registers = [registry];
  let lastCpu = process.cpuUsage();
  const cpuUser = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    collect() {
      const now = process.cpuUsage();
      const user = now.user - lastCpu.user;
      const system = now.system - lastCpu.system;
      lastCpu = now;
      cpuUser.inc(user / 1e6);
      cpuSystem.inc(system / 1e6);
      cpuTotal.inc((user + system) / 1e6);
    },
  });
  const cpuSystem = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const cpuTotal = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
  new Gauge({
    name: 'process_start_time_seconds',
    help: 'Start time of the process since unix epoch in seconds.',
    registers,
    collect() {
      this.set(START_SECONDS);
    },
  });

  const resident = new Gauge({
    name: 'process_resident_memory_bytes',
    help: 'Resident memory size in bytes.',
    registers,
    collect() {
      try {
        const s = procStatus();
        if (s.VmRSS !== undefined) resident.set(s.VmRSS);
        if (s.VmSize !== undefined) virtual.set(s.VmSize);
        if (s.VmData !== undefined) heap.set(s.VmData);
      } catch {
        // No procfs: nothing to report.
      }
    },
  });
  const virtual = new Gauge({ name: 'process_virtual_memory_bytes', help: 'Virtual memory size in bytes.', registers });
  const heap = new Gauge({ name: 'process_heap_bytes', help: 'Process heap size in bytes.', registers });
  new Gauge({
    name: 'process_open_fds',
    help: 'Number of open file descriptors.',
    registers,
    collect() {
      try {
        // Less the descriptor readdirSync itself had open.
        this.set(readdirSync('/proc/self/fd').length - 1);
      } catch {
        // No procfs.
      }
    },
  });
  const fdLimit = maxFds();
  if (fdLimit !== undefined) {
    new Gauge({
      name: 'process_max_fds',
      help: 'Maximum number of open file descriptors.',
      registers,
      collect() {
        this.set(fdLimit);
      },
    });
  }

  registerEventLoopLag(registry);

  new Gauge({
    name: 'nodejs_active_resources',
    help: 'Number of active resources that are currently keeping the event loop alive, grouped by async resource type.',
    labelNames: ['type'],
    registers,
    collect() {
      setCounts(this, process.getActiveResourcesInfo());
    },
  });
  new Gauge({
    name: 'nodejs_active_resources_total',
    help: 'Total number of active resources.',
    registers,
    collect() {
      this.set(process.getActiveResourcesInfo().length);
    },
  });
  const listed: [string, string, (() => unknown[]) | undefined][] = [
    ['handles', 'Number of active libuv handles grouped by handle type. Every handle type is C++ class name.', internals._getActiveHandles],
    ['requests', 'Number of active libuv requests grouped by request type. Every request type is C++ class name.', internals._getActiveRequests],
  ];
  for (const [what, help, list] of listed) {
    if (!list) continue;
    const read = () => list.call(process);
    new Gauge({
      name: `nodejs_active_${what}`,
      help,
      labelNames: ['type'],
      registers,
      collect() {
        setCounts(this, constructorNames(read()));
      },
    });
    new Gauge({
      name: `nodejs_active_${what}_total`,
      help: `Total number of active ${what}.`,
      registers,
      collect() {
        this.set(read().length);
      },
    });
  }

  const heapTotal = new Gauge({
    name: 'nodejs_heap_size_total_bytes',
    help: 'Process heap size from Node.js in bytes.',
    registers,
    collect() {
      const m = process.memoryUsage();
      heapTotal.set(m.heapTotal);
      heapUsed.set(m.heapUsed);
      external.set(m.external);
    },
  });
  const heapUsed = new Gauge({ name: 'nodejs_heap_size_used_bytes', help: 'Process heap size used from Node.js in bytes.', registers });
  const external = new Gauge({ name: 'nodejs_external_memory_bytes', help: 'Node.js external memory size in bytes.', registers });

  const spaceHelp = (kind: string) => `Process heap space size ${kind} from Node.js in bytes.`;
  const spaceTotal = new Gauge({
    name: 'nodejs_heap_space_size_total_bytes',
    help: spaceHelp('total'),
    labelNames: ['space'],
    registers,
    collect() {
      for (const s of getHeapSpaceStatistics()) {
        const space = s.space_name.slice(0, s.space_name.indexOf('_space'));
        spaceTotal.set({ space }, s.space_size);
        spaceUsed.set({ space }, s.space_used_size);
        spaceAvailable.set({ space }, s.space_available_size);
      }
    },
  });
  const spaceUsed = new Gauge({ name: 'nodejs_heap_space_size_used_bytes', help: spaceHelp('used'), labelNames: ['space'], registers });
  const spaceAvailable = new Gauge({ name: 'nodejs_heap_space_size_available_bytes', help: spaceHelp('available'), labelNames: ['space'], registers });

  const [major, minor, patch] = process.version.slice(1).split('.').map(Number);
  const version = new Gauge({
    name: 'nodejs_version_info',
    help: 'Node.js version info.',
    labelNames: ['version', 'major', 'minor', 'patch'],
    registers,
    collect() {
      version.set({ version: process.version, major: major!, minor: minor!, patch: patch! }, 1);
    },
  });

  registerGcDurations(registry);
}
