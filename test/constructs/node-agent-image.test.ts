// NodeAgent's image: given, or by default the one `npm run image` builds and tags,
// svcplane:<package version>, so a DaemonSet synthesised without an image names an
// image this repository can produce rather than a placeholder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_AGENT_IMAGE, NodeAgent } from '../../src/constructs/index.js';
import { appAndChart, errorOf, manifests } from './helpers.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

function agentImage(image?: string): string {
  const { app, chart } = appAndChart({}, 'kube-system');
  new NodeAgent(chart, 'agent', image === undefined ? {} : { image });
  const ds = manifests(app, chart).find((m) => m.kind === 'DaemonSet')!;
  return ds.spec!.template.spec.containers[0].image as string;
}

test('without an image the DaemonSet runs svcplane:<package version>, the tag scripts/image.sh builds', () => {
  assert.equal(DEFAULT_AGENT_IMAGE, `svcplane:${pkg.version}`);
  assert.equal(agentImage(), `svcplane:${pkg.version}`);
  const script = readFileSync(new URL('../../scripts/image.sh', import.meta.url), 'utf8');
  assert.match(script, /image="svcplane:\$version"/, 'scripts/image.sh tags the image svcplane:<version>');
});

test('a given image is used as is, and is still validated', () => {
  assert.equal(agentImage('registry.example.com/svcplane:9.9.9'), 'registry.example.com/svcplane:9.9.9');
  assert.match(errorOf(() => agentImage('  ')), /agent\] image: must not be empty/);
  assert.match(errorOf(() => agentImage('a b')), /image: "a b" must not contain whitespace/);
});
