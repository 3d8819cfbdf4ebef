// Small helpers for the construct tests: an app with a chart, and its manifests.

import { Chart } from 'cdk8s';
import { SvcplaneApp, type SvcplaneAppProps } from '../../src/constructs/index.js';

export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly spec?: Record<string, any>;
  readonly [k: string]: any;
}

/** An app (never written to disk) and one chart in namespace `ns`. */
export function appAndChart(props: SvcplaneAppProps = {}, ns = 'test'): { app: SvcplaneApp; chart: Chart } {
  const app = new SvcplaneApp({ outdir: '/nonexistent-svcplane-test', ...props });
  const chart = new Chart(app, 'chart', { namespace: ns });
  return { app, chart };
}

/** The chart's manifests after the app's checks pass. */
export function manifests(app: SvcplaneApp, chart: Chart): Manifest[] {
  app.check();
  return chart.toJson() as Manifest[];
}

export function serviceNamed(ms: readonly Manifest[], name: string): Manifest {
  const m = ms.find((x) => x.kind === 'Service' && x.metadata.name === name);
  if (!m) throw new Error(`no Service ${name} among ${ms.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return m;
}

/** The message of the error `fn` throws (fails when it throws nothing). */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected an error, got none');
}
