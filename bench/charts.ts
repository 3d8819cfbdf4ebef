// The charts of BENCHMARKS.md, drawn from one run's results (chart-svg.ts) and written
// to bench/charts/. `chartsOf` is pure: the same results give the same files.

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { barChartSvg, lineChartSvg } from './chart-svg.js';
import type { BenchResults } from './results.js';
import { median, quantile } from './stats.js';

export const CHART_DIR = 'bench/charts';

export interface Chart {
  /** File name under bench/charts/. */
  file: string;
  /** What it shows (the image's alt text in the report). */
  alt: string;
  svg: string;
}

const orNull = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? null : x);

export function chartsOf(r: BenchResults): Chart[] {
  const charts: Chart[] = [];
  const scs = r.scenarios;
  const ids = scs.map((s) => s.scenario.id);
  const backends = [...new Set(scs.flatMap((s) => s.renders.map((x) => x.backend)))];
  if (backends.length) {
    charts.push({
      file: 'render-time.svg',
      alt: 'Render time per scenario and backend (median, log scale)',
      svg: barChartSvg({
        title: 'Full render (render + serialise), median',
        yLabel: 'ms (log)',
        logY: true,
        categories: ids,
        series: backends.map((b) => ({ name: b, values: scs.map((s) => orNull(s.renders.find((x) => x.backend === b)?.ms)) })),
      }),
    });
    charts.push({
      file: 'render-memory.svg',
      alt: 'Peak memory of one render per scenario and backend (VmHWM minus RSS before the render, log scale)',
      svg: barChartSvg({
        title: 'Peak memory of one render (VmHWM − RSS before)',
        yLabel: 'MiB (log)',
        logY: true,
        categories: ids,
        series: backends.map((b) => ({
          name: b,
          values: scs.map((s) => {
            const x = s.renders.find((y) => y.backend === b);
            return x ? orNull((x.peakKiB - x.rssBeforeKiB) / 1024) : null;
          }),
        })),
      }),
    });
  }
  const nft = scs.filter((s) => s.nft?.full);
  const ipt = scs.filter((s) => s.iptables);
  if (nft.length || ipt.length) {
    charts.push({
      file: 'full-apply.svg',
      alt: 'Full apply into an empty namespace beside the kernel tool alone (log scale; a gap: not run or did not finish in the limit)',
      svg: barChartSvg({
        title: 'Full apply into an empty namespace',
        yLabel: 'ms (log)',
        logY: true,
        categories: ids,
        series: [
          { name: 'nftables syncer', values: scs.map((s) => orNull(s.nft?.full?.total)) },
          { name: 'nft -j -f alone', values: scs.map((s) => (s.nft?.alone.finished ? s.nft.alone.load : null)) },
          { name: 'applyIptables', values: scs.map((s) => orNull(s.iptables?.run.apply?.total)) },
          { name: 'iptables-restore alone', values: scs.map((s) => (s.iptables?.run.alone?.finished ? s.iptables.run.alone.ms : null)) },
        ],
      }),
    });
    const q = (xs: readonly { total: number }[] | undefined, p: number) => (xs && xs.length ? quantile(xs.map((x) => x.total), p) : null);
    charts.push({
      file: 'endpoint-change.svg',
      alt: 'One endpoint change, event to kernel, p50 and p99 per scenario (log scale)',
      svg: barChartSvg({
        title: 'One endpoint change, event to kernel',
        yLabel: 'ms (log)',
        logY: true,
        categories: ids,
        series: [
          { name: 'nftables p50', values: scs.map((s) => q(s.nft?.endpoint, 0.5)) },
          { name: 'nftables p99', values: scs.map((s) => q(s.nft?.endpoint, 0.99)) },
          { name: 'nftables one-shot p50', values: scs.map((s) => q(s.nft?.endpointOneShot, 0.5)) },
          { name: 'nftables one-shot p99', values: scs.map((s) => q(s.nft?.endpointOneShot, 0.99)) },
          { name: 'iptables p50', values: scs.map((s) => q(s.iptables?.run.partial, 0.5)) },
          { name: 'iptables p99', values: scs.map((s) => q(s.iptables?.run.partial, 0.99)) },
        ],
      }),
    });
  }
  const dp = r.dataplane.filter((x) => x.service.length > 0);
  if (dp.length) {
    const series = (b: string, p: number) => ({
      name: `${b} p${Math.round(p * 100)}`,
      points: dp.filter((x) => x.backend === b).map((x) => ({ x: x.others, y: quantile(x.service, p) })),
    });
    charts.push({
      file: 'first-packet.svg',
      alt: 'First-packet latency (TCP connection set-up through the Service) against the number of other Services',
      svg: lineChartSvg({
        title: 'First-packet latency to one Service',
        xLabel: 'other Services on the node (log)',
        yLabel: 'connection set-up, µs',
        logX: true,
        series: [series('nftables', 0.5), series('nftables', 0.99), series('iptables', 0.5), series('iptables', 0.99)].filter((s) => s.points.length),
      }),
    });
    charts.push({
      file: 'first-packet-direct.svg',
      alt: 'Median set-up time via the ClusterIP and straight to the server, per backend, against the number of other Services',
      svg: lineChartSvg({
        title: 'p50 set-up: via the ClusterIP and direct (same node, no match)',
        xLabel: 'other Services on the node (log)',
        yLabel: 'µs',
        logX: true,
        series: ['nftables', 'iptables']
          .flatMap((b) => [
            { name: `${b} ClusterIP`, points: dp.filter((x) => x.backend === b).map((x) => ({ x: x.others, y: median(x.service) })) },
            { name: `${b} direct`, points: dp.filter((x) => x.backend === b).map((x) => ({ x: x.others, y: median(x.direct) })) },
          ])
          .filter((s) => s.points.length),
      }),
    });
  }
  const churn = r.churn.filter((c) => c.cycles.length);
  if (churn.length) {
    charts.push({
      file: 'churn.svg',
      alt: 'Churn: each cycle\'s sync time (every endpoint replaced)',
      svg: lineChartSvg({
        title: `Churn: sync per cycle (${churn[0]!.services} × ${churn[0]!.endpointsPerService}, all endpoints replaced)`,
        xLabel: 'cycle',
        yLabel: 'ms',
        series: churn.map((c) => ({ name: c.backend, points: c.cycles.map((x, i) => ({ x: i + 1, y: x.sync })) })),
      }),
    });
  }
  return charts;
}

export async function writeCharts(root: string, r: BenchResults): Promise<Chart[]> {
  const charts = chartsOf(r);
  await mkdir(join(root, CHART_DIR), { recursive: true });
  for (const c of charts) await writeFile(join(root, CHART_DIR, c.file), c.svg);
  return charts;
}
