// What a backend is: a pure renderer from RenderInput to a ruleset document, and
// (once it lands) the code that applies that document to the kernel.

import type { TrafficReader } from './traffic.js';
import type { RenderInput } from '../model/render-input.js';

export interface ApplyOptions {
  /** Print what would be sent instead of sending it. */
  readonly dryRun?: boolean;
  /**
   * namespace/name of Services whose input was skipped as malformed: whatever the
   * kernel holds for them stays exactly as it is.
   */
  readonly preserveServices?: readonly string[];
}

export interface ApplyResult {
  /** Number of objects (rules, chains, set elements...) the transaction changed; 0 when converged. */
  readonly changes: number;
  /** The transaction text sent to the kernel tool, empty when nothing was sent. */
  readonly transaction: string;
}

export interface Backend {
  /** The --backend name. */
  readonly name: string;
  /** File name of the precompiled ruleset under dist/rules/ (never *.yaml: cdk8s reads those as manifests). */
  readonly rulesFile: string;
  /** The complete ruleset for one node. Pure: same input, same bytes. */
  render(input: RenderInput): string;
  /** Makes the current network namespace match the rendered ruleset. */
  apply?(input: RenderInput, options?: ApplyOptions): Promise<ApplyResult>;
  /** Removes everything of this backend's from the current network namespace, and nothing else; returns how many objects went. */
  cleanup?(): Promise<number>;
  /** Reads the per-Service traffic counters our rules carry (traffic.ts), in the current network namespace. */
  readTraffic?: TrafficReader;
}
