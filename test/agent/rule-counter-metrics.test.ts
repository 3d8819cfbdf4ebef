// kube-proxy's two nfacct metrics from our rules' counters, and which failed IPVS
// syncs count as iptables restore failures.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pino } from 'pino';
import { Registry } from '../../src/agent/prom/index.js';
import { Agent } from '../../src/agent/agent.js';
import { createAgentMetrics } from '../../src/agent/metrics.js';
import { registerRuleCounterMetrics, restoreToolFamily } from '../../src/agent/rule-counter-metrics.js';
import { parseKubeProxyRuleCounters } from '../../src/backends/iptables/kube-proxy-counters.js';
import { ExecError } from '../../src/exec/exec.js';
import { serializePlan } from '../../src/model/plan.js';
import { plan, port, sliceManifest, svc } from '../helpers/model.js';
import { offlineAgentOptions } from './offline-agent.js';

const SAVED = [
  '*filter',
  '[12:720] -A SVP-FORWARD -m conntrack --ctstate INVALID -j DROP',
  '[99:0] -A SVP-FORWARD -m comment --comment "forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT',
  '[5:300] -A OTHER -m conntrack --ctstate INVALID -j DROP',
  '*nat',
  '[3:180] -A SVP-NODEPORTS -d 127.0.0.0/8 -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j SVP-EXT-X',
  '[8:480] -A SVP-NODEPORTS -p tcp -m comment --comment "default/web:http" -m tcp --dport 30080 -j SVP-EXT-X',
].join('\n');

test('the INVALID drop and localhost node port counts come from our rules only; absent rules give no count', () => {
  assert.deepEqual(parseKubeProxyRuleCounters(SAVED), { invalidDropped: 12, localhostNodePortsAccepted: 3 });
  assert.deepEqual(parseKubeProxyRuleCounters(SAVED + '\n' + SAVED), { invalidDropped: 24, localhostNodePortsAccepted: 6 }, 'both families add up');
  assert.deepEqual(parseKubeProxyRuleCounters('[8:480] -A SVP-NODEPORTS -p tcp -m tcp --dport 30080 -j SVP-EXT-X'), {});
});

test('a count the node does not have is no series, not 0; a failed read is none either', async () => {
  const registry = new Registry();
  registerRuleCounterMetrics(registry, async () => ({ invalidDropped: 7 }));
  const text = await registry.metrics();
  assert.match(text, /^# TYPE kubeproxy_iptables_ct_state_invalid_dropped_packets_total counter$/m);
  assert.match(text, /^kubeproxy_iptables_ct_state_invalid_dropped_packets_total 7$/m);
  assert.doesNotMatch(text, /^kubeproxy_iptables_localhost_nodeports_accepted_packets_total /m);
  const failing = new Registry();
  registerRuleCounterMetrics(failing, () => Promise.reject(new Error('no iptables-save')));
  assert.doesNotMatch(await failing.metrics(), /^kubeproxy_iptables_\S+ \d/m);
});

test('registered in iptables mode only, as kube-proxy registers its nfacct collector', async () => {
  const ipt = createAgentMetrics({ backend: 'iptables', ruleCounters: async () => ({ invalidDropped: 1, localhostNodePortsAccepted: 2 }) });
  const text = await ipt.registry.metrics();
  assert.match(text, /^kubeproxy_iptables_ct_state_invalid_dropped_packets_total 1$/m);
  assert.match(text, /^kubeproxy_iptables_localhost_nodeports_accepted_packets_total 2$/m);
  for (const backend of ['nftables', 'ipvs']) assert.doesNotMatch(await createAgentMetrics({ backend }).registry.metrics(), /kubeproxy_iptables_ct_state/);
});

const failed = (file: string, netns?: string) => new ExecError({ file, args: ['--noflush', '-w'], ...(netns ? { netns } : {}) }, { exitCode: 1, stdout: '', stderr: 'line 3 failed', timedOut: false });

test('IPVS mode counts an iptables restore failure in the family of the tool, and nothing for ipvsadm or ipset', async () => {
  assert.equal(restoreToolFamily(failed('iptables-restore')), 'IPv4');
  assert.equal(restoreToolFamily(failed('ip6tables-nft-restore', 'node1')), 'IPv6');
  assert.equal(restoreToolFamily(new Error('sync failed', { cause: failed('iptables-legacy-restore') })), 'IPv4');
  assert.equal(restoreToolFamily(failed('ipvsadm')), undefined);
  assert.equal(restoreToolFamily(failed('ipset')), undefined);
  const m = createAgentMetrics({ backend: 'ipvs' });
  for (const [c, ip_family] of m.applyFailures(true, failed('ip6tables-restore'), ['IPv4', 'IPv6'])) c.inc({ ip_family });
  assert.deepEqual(m.applyFailures(true, failed('ipvsadm'), ['IPv4']), []);
  const text = await m.registry.metrics();
  assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_restore_failures_total\{ip_family="IPv6"\} 1$/m);
  assert.doesNotMatch(text, /^kubeproxy_sync_proxy_rules_iptables_restore_failures_total\{ip_family="IPv4"\}/m);
});

// Through the agent: an IPVS sync whose helper rules' ip6tables-restore fails shows on /metrics.
test('an IPVS-mode agent whose sync fails in ip6tables-restore counts it on /metrics, ipvsadm failures not', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'svcplane-restore-fail-'));
  writeFileSync(join(dir, 'plan.json'), serializePlan(plan([svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })])));
  writeFileSync(join(dir, 'web.json'), JSON.stringify(sliceManifest('web', ['10.244.1.10'])));
  const tools = ['ipvsadm', 'ip6tables-restore'];
  let syncs = 0;
  const agent = new Agent({
    ...offlineAgentOptions(dir, '192.168.50.1'),
    backend: 'ipvs',
    log: pino({ level: 'silent' }),
    rules: {
      backend: 'fake',
      sync: async () => {
        syncs++;
        const tool = tools.shift();
        if (tool) throw failed(tool);
        return { full: true, changes: 1 };
      },
    },
    traffic: false,
    metrics: createAgentMetrics({ backend: 'ipvs' }),
  });
  try {
    await agent.start();
    const deadline = Date.now() + 60_000;
    while (syncs < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(syncs >= 3, `the agent retried after both failures (${syncs} syncs)`);
    const text = await (await fetch(`http://127.0.0.1:${agent.listening.metrics!.port}/metrics`)).text();
    assert.match(text, /^kubeproxy_sync_proxy_rules_iptables_restore_failures_total\{ip_family="IPv6"\} 1$/m);
    assert.doesNotMatch(text, /^kubeproxy_sync_proxy_rules_iptables_restore_failures_total\{ip_family="IPv4"\}/m, 'the ipvsadm failure is not a restore failure');
    assert.match(text, /^svcplane_sync_proxy_rules_failures_total\{reason="apply"\} 2$/m);
  } finally {
    await agent.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
