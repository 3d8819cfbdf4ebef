// The agent's node options have one definition (src/agent/node-options.ts); the image
// must carry exactly that, or the agent runs with V8's defaults in production while the
// benchmarks measure it with ours. (The DaemonSet's NODE_OPTIONS env: test/constructs/node-agent.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AGENT_ENV, AGENT_NODE_OPTIONS, missingAgentNodeOptions } from '../../src/agent/node-options.js';

test("the Dockerfile sets NODE_OPTIONS to the agent's options, once", () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  const lines = dockerfile.split('\n').filter((l) => /^ENV\s+NODE_OPTIONS[=\s]/.test(l));
  assert.equal(lines.length, 1, `ENV NODE_OPTIONS lines: ${JSON.stringify(lines)}`);
  assert.equal(lines[0], `ENV NODE_OPTIONS=${JSON.stringify(AGENT_NODE_OPTIONS)}`);
});

test("the Dockerfile sets the agent's environment, each variable once", () => {
  const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
  for (const [name, value] of Object.entries(AGENT_ENV)) {
    const lines = dockerfile.split('\n').filter((l) => new RegExp(`^ENV\\s+${name}[=\\s]`).test(l));
    assert.deepEqual(lines, [`ENV ${name}=${JSON.stringify(value)}`]);
  }
});

test('an agent started without its node options names them; given on the command line or in NODE_OPTIONS, nothing is missing', () => {
  assert.deepEqual(missingAgentNodeOptions([], undefined), AGENT_NODE_OPTIONS.split(' '));
  assert.deepEqual(missingAgentNodeOptions(['--max-semi-space-size=4'], ''), AGENT_NODE_OPTIONS.split(' '));
  assert.deepEqual(missingAgentNodeOptions(AGENT_NODE_OPTIONS.split(' '), undefined), []);
  assert.deepEqual(missingAgentNodeOptions([], ` ${AGENT_NODE_OPTIONS} --import x`), []);
  assert.deepEqual(missingAgentNodeOptions([], AGENT_NODE_OPTIONS.replace(/-/g, '_').replace(/^__/, '--')), []);
});
