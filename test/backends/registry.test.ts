// The registry and the one Backend shape (src/backends/backend.ts): every registered
// backend implements every member, the members agree with each other on a real input,
// and no file outside the registry and the backend folders chooses by a backend's name.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { hasRuleset, type AgentBackend, type Backend, type RulesetReader } from '../../src/backends/backend.js';
import { BACKEND_TABLE, loadRulesetBackend, RULESET_BACKEND_NAMES } from '../../src/backends/backend-table.js';
import { agentBackends, cleanupOrder, getAgentBackend, getBackend, registeredBackends } from '../../src/backends/registry.js';
import { renderNodeFacts } from '../../src/trace/index.js';
import { isInputError } from '../../src/model/errors.js';
import { ep, input, port, slice, svc } from '../helpers/model.js';
import { syntheticInput } from '../../bench/synthetic.js';

/** Every member of AgentBackend and what it is; `satisfies` makes tsc name any member this list misses. */
const AGENT_MEMBERS = {
  name: 'string',
  rulesFile: 'any',
  cleanupPriority: 'number',
  capabilities: 'array',
  metricsMode: 'any',
  relaysUdp: 'boolean',
  dnatsInNatHooks: 'boolean',
  sysctls: 'function',
  createSyncer: 'function',
  cleanup: 'function',
  readTraffic: 'function?',
  trafficNamedByInput: 'boolean?',
} as const satisfies Record<keyof AgentBackend, string>;

const RULESET_MEMBERS = {
  ...AGENT_MEMBERS,
  rulesFile: 'string',
  render: 'function',
  renderPieces: 'function',
  renderDocument: 'function',
  serialise: 'function',
  reader: 'function',
  readLive: 'function',
  check: 'function',
  apply: 'function',
  traceLive: 'function',
} as const satisfies Record<keyof Backend, string>;

const READER_MEMBERS = {
  parse: 'function',
  compare: 'function',
  compareRulesets: 'function',
  documentTracer: 'function',
} as const satisfies Record<keyof RulesetReader, string>;

function assertMembers(b: object, members: Record<string, string>): void {
  for (const [key, kinds] of Object.entries(members)) {
    // `kind?`: an optional member, absent or of that kind.
    const optional = kinds.endsWith('?');
    const kind = optional ? kinds.slice(0, -1) : kinds;
    if (optional && !(key in b)) continue;
    assert.ok(key in b, `${(b as { name: string }).name}: no member ${key}`);
    const v = (b as Record<string, unknown>)[key];
    if (kind === 'array') assert.ok(Array.isArray(v), `${key} is an array`);
    else if (kind !== 'any') assert.equal(typeof v, kind, `${(b as { name: string }).name}.${key} is a ${kind}`);
  }
}

const web = svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80, 8080)] });
const webInput = input([web], [slice('web', [ep('10.244.1.10', 'node1'), ep('10.244.2.10', 'node2')], [{ port: 8080 }])]);

describe('backend registry', () => {
  it('registers the three ruleset backends and the agent-only userspace relay, each name once', () => {
    assert.deepEqual(registeredBackends().map((b) => b.name).sort(), ['iptables', 'ipvs', 'nftables']);
    assert.deepEqual(agentBackends().map((b) => b.name).sort(), ['iptables', 'ipvs', 'nftables', 'userspace']);
    assert.equal(new Set(registeredBackends().map((b) => b.rulesFile)).size, registeredBackends().length);
  });

  it('every ruleset backend implements every Backend member (its reader every RulesetReader member); every agent backend every AgentBackend member', async () => {
    for (const b of registeredBackends()) {
      assertMembers(b, RULESET_MEMBERS);
      assertMembers({ name: b.name, ...(await b.reader()) }, READER_MEMBERS);
    }
    for (const b of agentBackends()) assertMembers(b, AGENT_MEMBERS);
    assert.equal(getAgentBackend('userspace').rulesFile, undefined, 'userspace has no ruleset (src/userspace/README.md says why)');
  });

  it('unknown names and the agent-only backend are bad input (exit 2) naming --backend', () => {
    const refused = (f: () => unknown, msg: RegExp) =>
      assert.throws(f, (e: Error) => isInputError(e) && msg.test(e.message) && /--backend/.test(e.message));
    refused(() => getBackend('bogus'), /unknown backend "bogus" \(available: nftables, iptables, ipvs\)/);
    refused(() => getBackend('userspace'), /userspace has no ruleset to render or apply: it runs only in the agent/);
    refused(() => getAgentBackend('bogus'), /unknown backend "bogus" \(available: nftables, iptables, ipvs, userspace\)/);
  });

  it('backend-table.ts (render loads one backend by name) names the registry\'s backends in its order, and loads the same objects', async () => {
    assert.deepEqual(BACKEND_TABLE.map((e) => e.name), agentBackends().map((b) => b.name));
    assert.deepEqual(RULESET_BACKEND_NAMES, registeredBackends().map((b) => b.name));
    for (const e of BACKEND_TABLE) {
      const b = await e.load();
      assert.equal(b, getAgentBackend(e.name), e.name);
      assert.equal(e.ruleset, hasRuleset(b), e.name);
      if (e.ruleset) assert.equal(await loadRulesetBackend(e.name), getBackend(e.name));
    }
    for (const name of ['bogus', 'userspace']) {
      const lazy = await loadRulesetBackend(name).then(() => undefined, (e: Error) => e);
      assert.throws(() => getBackend(name), (e: Error) => isInputError(e) && isInputError(lazy) && e.message === lazy.message, name);
    }
  });

  it('cleanup order is data: IPVS (whose hooks jump into SVP- chains) before iptables (which deletes every SVP- chain)', () => {
    const order = cleanupOrder().map((b) => b.name);
    assert.ok(order.indexOf('ipvs') < order.indexOf('iptables'), order.join(' '));
    assert.equal(order.length, agentBackends().length);
  });

  it('building a syncer loads and runs nothing; it carries the backend name', () => {
    for (const b of agentBackends()) assert.equal(b.createSyncer({}).backend, b.name);
  });
});

describe('the members of each ruleset backend agree with each other', () => {
  for (const b of registeredBackends()) {
    it(`${b.name}: render = serialise(renderDocument); its own ruleset against itself has no difference`, async () => {
      const r = await b.reader();
      const text = b.render(webInput);
      assert.equal(b.serialise(b.renderDocument(webInput)), text);
      assert.equal(b.renderPieces(webInput).join(''), text);
      assert.doesNotThrow(() => r.parse(text));
      const side = { label: 'tree', text, plan: webInput.plan };
      assert.deepEqual(r.compareRulesets(side, side), []);
    });

    it(`${b.name}: renderPieces, what \`svcplane render\` writes, joins to render's text on an input of many pieces`, () => {
      const big = syntheticInput(400, new Map(), 3);
      const pieces = b.renderPieces(big);
      assert.equal(pieces.join(''), b.render(big));
      // IPVS hands out its document (a fifth of the others' size) as one piece.
      if (b.name !== 'ipvs') assert.ok(pieces.length > 10, `${pieces.length} pieces`);
    });

    it(`${b.name}: compareRulesets names the Service an added endpoint belongs to`, async () => {
      const more = input([web], [slice('web', [ep('10.244.1.10', 'node1'), ep('10.244.2.10', 'node2'), ep('10.244.3.10', 'node3')], [{ port: 8080 }])]);
      const before = { label: 'old', text: b.render(webInput), plan: webInput.plan };
      const after = { label: 'new', text: b.render(more), plan: more.plan };
      const diffs = (await b.reader()).compareRulesets(before, after);
      assert.ok(diffs.length > 0, 'an endpoint more is a change');
      assert.ok(diffs.some((d) => d.service === 'default/web'), JSON.stringify(diffs));
    });

    it(`${b.name}: a ruleset that does not parse names the side it came from`, async () => {
      const r = await b.reader();
      const good = { label: 'old', text: b.render(webInput), plan: webInput.plan };
      const bad = { label: 'new', text: '{not a ruleset', plan: webInput.plan };
      assert.throws(() => r.compareRulesets(good, bad), (e: Error & { side?: string }) => e.side === 'new');
    });

    it(`${b.name}: the document tracer sends a ClusterIP connection to both endpoints`, async () => {
      const trace = (await b.reader()).documentTracer(b.render(webInput), renderNodeFacts(webInput));
      const r = trace({ src: '10.244.1.5', dst: '10.96.0.10', dport: 80, proto: 'tcp' });
      assert.equal(r.verdict, 'dnat');
      assert.deepEqual(r.endpoints, ['10.244.1.10:8080', '10.244.2.10:8080']);
    });
  }

  it('nftables: compare(desired, live) of a rendering against itself is empty, against a missing Service names it', async () => {
    const b = getBackend('nftables') as Backend<unknown, unknown>;
    const r = await b.reader();
    const doc = b.renderDocument(webInput);
    assert.deepEqual(r.compare(doc, b.renderDocument(webInput)), []);
    const empty = b.renderDocument(input([]));
    assert.ok(r.compare(doc, empty).some((d) => d.change === 'missing' && d.service === 'default/web'));
  });
});

/**
 * Quoted backend names allowed outside the registry and the backend folders, each
 * for a reason other than choosing a backend: kube-proxy's `mode` and its config
 * sections, and kube-proxy's per-mode metric sets (the backend declares its
 * metricsMode; metrics.ts registers kube-proxy's families for that mode).
 */
const ALLOWED: Record<string, string> = {
  'src/manifests/proxy-config.ts': "KubeProxyConfiguration's mode picks its per-mode section",
  'src/manifests/proxy-config-schema.ts': "a KubeProxyConfiguration field path (iptables.snatNodeInternalIP)",
  'src/constructs/node-agent-config.ts': "KubeProxyConfiguration's per-mode sections, typed",
  'src/constructs/node-agent.ts': 'the NodeAgent construct\'s backend enum (its values are what --backend takes)',
  'src/agent/metrics.ts': "kube-proxy's metric families per kube-proxy mode (and the default mode of a test's metrics)",
};

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('no switch on a backend name outside the registry and the backend folders', () => {
  it('src/ outside src/backends/ and src/userspace/ names no backend in quotes (but for the allowed kube-proxy mode uses)', () => {
    const names = agentBackends().map((b) => b.name);
    const quoted = new RegExp(`(['"\`])(${names.join('|')})\\1`);
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = `src/${relative(SRC, file)}`;
      if (rel.startsWith('src/backends/') || rel.startsWith('src/userspace/') || rel in ALLOWED) continue;
      readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
        if (quoted.test(line)) offenders.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(offenders, []);
  });

  it('the check itself finds a name where one is written', () => {
    const quoted = new RegExp(`(['"\`])(${agentBackends().map((b) => b.name).join('|')})\\1`);
    assert.ok(quoted.test("    case 'ipvs':"));
    assert.ok(quoted.test('if (backend === "userspace")'));
    assert.ok(!quoted.test('// the ipvs backend'));
  });
});
