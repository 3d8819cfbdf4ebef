// The benchmark's scenario matrix (issue 7): Services × endpoints each, at the scales
// where kube-proxy's users reported trouble, and how many rounds each measurement gets
// there (fewer at the largest scales, where one read-back alone takes many seconds).
// Which scenarios run comes from the environment (see bench/README.md).

export interface Scenario {
  /** "10kx10": what BENCH_SCENARIOS names. */
  readonly id: string;
  readonly services: number;
  readonly endpointsPerService: number;
  /** Why this scenario is in the matrix (a kube-proxy report it mirrors, or the scale step). */
  readonly why: string;
  /** Churn: every endpoint replaced every `intervalMs`, `cycles` times (no other measurement). */
  readonly churn?: { readonly intervalMs: number; readonly cycles: number };
}

const s = (services: number, e: number, why: string): Scenario => ({ id: `${label(services)}x${e}`, services, endpointsPerService: e, why });

export function label(n: number): string {
  return n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n);
}

export const ALL_SCENARIOS: readonly Scenario[] = [
  s(100, 10, 'a small cluster'),
  s(1000, 10, 'a medium cluster'),
  s(5000, 10, 'scale step'),
  s(10000, 10, 'the targets\' scale (render < 1 s, one endpoint change p99 < 50 ms)'),
  s(30000, 4, 'the data-plane scale of the kubernetes.io nftables post'),
  s(44000, 1, 'kubernetes/kubernetes#139513: a 16-minute nftables full sync at 44,125 Services'),
  s(5000, 50, 'kubernetes/kubernetes#135639: a 13-minute nftables sync at 5,006 Services / 250,011 endpoints'),
  s(1, 10000, 'one Service with 10k endpoints (one long chain)'),
  { id: 'churn', services: 1000, endpointsPerService: 100, why: 'churn: every endpoint replaced every 5 s, 20 cycles', churn: { intervalMs: 5000, cycles: 20 } },
];

/** Scenarios of a quick run (BENCH_QUICK=1): small ones only, and a short churn. */
const QUICK = ['100x10', '1kx10'];

export function endpointsOf(sc: Scenario): number {
  return sc.services * sc.endpointsPerService;
}

/**
 * The scenarios to run. BENCH_SCENARIOS (ids, comma-separated) wins; else BENCH_SCALES
 * (the older knob: Services with 10 endpoints each); else BENCH_QUICK=1 picks the small
 * ones and a 3-cycle churn at 100 × 10; else all of them.
 */
export function selectScenarios(env: NodeJS.ProcessEnv): Scenario[] {
  if (env.BENCH_SCENARIOS) {
    const ids = env.BENCH_SCENARIOS.split(',').map((x) => x.trim()).filter(Boolean);
    return ids.map((id) => {
      const sc = ALL_SCENARIOS.find((x) => x.id === id);
      if (!sc) throw new Error(`BENCH_SCENARIOS: unknown scenario ${id} (known: ${ALL_SCENARIOS.map((x) => x.id).join(', ')})`);
      return sc;
    });
  }
  if (env.BENCH_SCALES) {
    return env.BENCH_SCALES.split(',').map((x) => Number(x.trim())).filter((n) => n > 0).map((n) => s(n, 10, 'BENCH_SCALES'));
  }
  if (env.BENCH_QUICK === '1') {
    return [
      ...ALL_SCENARIOS.filter((x) => QUICK.includes(x.id)),
      { id: 'churn', services: 100, endpointsPerService: 10, why: 'churn (quick run: 100 × 10, 3 cycles of 1 s)', churn: { intervalMs: 1000, cycles: 3 } },
    ];
  }
  return [...ALL_SCENARIOS];
}

/** Rounds of each measurement at one scenario: fewer where a single step takes many seconds. */
export interface ScenarioRounds {
  endpointRounds: number;
  serviceRounds: number;
  resyncRounds: number;
  oneShotRounds: number;
  renderRuns: number;
  /** iptables: one-endpoint changes (the pure render + diff at every scale, and partial/full syncs in the kernel), and the cap on its Services added and removed. */
  iptRounds: number;
}

export function roundsFor(sc: Scenario, base: ScenarioRounds): ScenarioRounds {
  const eps = endpointsOf(sc);
  const big = eps > 100_000 || sc.services > 10_000;
  return {
    endpointRounds: base.endpointRounds,
    // With a handful of Services, adding and removing them is measured at the other scenarios.
    serviceRounds: sc.services >= 100 ? base.serviceRounds : 0,
    // A resync and a one-shot apply read the whole table back: ~10 s each at 10k × 10 here.
    resyncRounds: big ? Math.min(1, base.resyncRounds) : base.resyncRounds,
    oneShotRounds: big || sc.services < 100 ? 0 : eps > 20_000 ? Math.min(1, base.oneShotRounds) : base.oneShotRounds,
    // Each pure iptables round renders everything: ~2 s at 10k × 10, more above.
    iptRounds: big ? Math.min(4, base.iptRounds) : base.iptRounds,
    renderRuns: big ? Math.min(2, base.renderRuns) : eps > 20_000 ? Math.min(3, base.renderRuns) : base.renderRuns,
  };
}
