// The real CLI in node1 for e2e tests that declare objects and apply them once: the
// objects (with the cluster's Node, ServiceCIDR and KubeProxyConfiguration) go to a
// List file in a temporary folder, `svcplane apply` runs in node1's namespace; the
// teardown removes our rules, the topology and the folder, also after a failure.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nsExec } from '../lib/netns.js';
import type { Topology } from '../lib/topology.js';
import { clusterObjects } from './manifests.js';

const CLI = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url));

/**
 * Writes the objects next to the cluster's and applies them in node1; asserts exit 0.
 * `kubeProxy`: fields that replace those of the cluster's KubeProxyConfiguration. Returns the temporary folder.
 */
export async function applyInNode1(t: Topology, backend: string, objects: readonly Record<string, unknown>[], prefix: string, kubeProxy: Record<string, unknown> = {}): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const file = join(dir, 'input.json');
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [...clusterObjects(t, kubeProxy), ...objects] }));
  const r = await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'apply', '--backend', backend, '-f', file, '--node-name', 'node1'], { reject: false });
  if (r.exitCode !== 0) rmSync(dir, { recursive: true, force: true });
  assert.equal(r.exitCode, 0, `svcplane apply failed: ${r.stderr}`);
  return dir;
}

/** `svcplane cleanup` in node1, then the topology and the folder go, whatever fails. */
export async function teardown(t: Topology | undefined, dir: string | undefined): Promise<void> {
  try {
    if (t) await nsExec(t.node1.ns, ['node', '--import', 'tsx', CLI, 'cleanup'], { reject: false });
  } finally {
    await t?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
