// The agent's own Prometheus registry and metrics (in place of prom-client: README,
// "Session 15: the idle agent").
export { Histogram } from './histogram.js';
export { Counter, Gauge } from './metric.js';
export { registerProcessMetrics } from './process-metrics.js';
export { Registry } from './registry.js';
