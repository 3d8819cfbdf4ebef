// IPVS node settings from kube-proxy's configuration: strictARP sysctls, the IPVS
// timeouts (`ipvsadm --set`), and excludeCIDRs keeping apply from deleting virtual
// servers it did not make. The kernel runs in a VM only; these check the commands.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffIpvs, parseIpvsadmSave } from '../../../src/backends/ipvs/diff.js';
import {
  IPVS_SYSCTLS,
  ipvsSysctls,
  ipvsTimeoutArgs,
  ownsVirtualServer,
  parseIpvsTimeouts,
} from '../../../src/backends/ipvs/kernel-settings.js';
import { proxyConfigFromObject } from '../../../src/manifests/proxy-config.js';

const base = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration', mode: 'ipvs' };

test('strictARP adds arp_ignore=1 and arp_announce=2, as kube-proxy; without it the node-wide ARP settings are left alone', () => {
  const off = ipvsSysctls(proxyConfigFromObject(base));
  assert.deepEqual(off, IPVS_SYSCTLS);
  assert.equal(off['net/ipv4/conf/all/arp_ignore'], undefined);
  const on = ipvsSysctls(proxyConfigFromObject({ ...base, ipvs: { strictARP: true } }));
  assert.equal(on['net/ipv4/conf/all/arp_ignore'], '1');
  assert.equal(on['net/ipv4/conf/all/arp_announce'], '2');
  assert.equal(on['net/ipv4/vs/conntrack'], '1');
});

test('IPVS timeouts: `ipvsadm --set tcp tcpfin udp` when a configured one differs; 0 keeps the kernel value', () => {
  const live = parseIpvsTimeouts('Timeout (tcp tcpfin udp): 900 120 300\n');
  assert.deepEqual(live, { tcpSeconds: 900, tcpFinSeconds: 120, udpSeconds: 300 });
  const c = proxyConfigFromObject({ ...base, ipvs: { tcpTimeout: '15m', tcpFinTimeout: '30s' } });
  assert.deepEqual(ipvsTimeoutArgs(c.ipvsTimeouts, live), ['--set', '900', '30', '0']);
  assert.equal(ipvsTimeoutArgs(c.ipvsTimeouts, { tcpSeconds: 900, tcpFinSeconds: 30, udpSeconds: 45 }), undefined, 'converged: nothing sent');
  assert.equal(ipvsTimeoutArgs(proxyConfigFromObject(base).ipvsTimeouts, live), undefined, 'unset: nothing sent');
  assert.deepEqual(ipvsTimeoutArgs({ tcpSeconds: 0, tcpFinSeconds: 0, udpSeconds: 10 }, undefined), ['--set', '0', '0', '10'], 'unreadable: sent');
  assert.equal(parseIpvsTimeouts('garbage'), undefined);
});

test('excludeCIDRs: a stale virtual server there survives the diff, even on an address we serve; others go', () => {
  const live = parseIpvsadmSave([
    '-A -t 10.96.0.10:80 -s rr',
    '-A -t 10.200.0.5:80 -s rr',
    '-A -u [fd00:200::5]:53 -s rr',
    '-A -t 192.168.50.1:30080 -s rr',
    '',
  ].join('\n'));
  const served = new Set(['10.96.0.10', '10.200.0.5', 'fd00:200::5', '192.168.50.1']);
  const c = proxyConfigFromObject({ ...base, ipvs: { excludeCIDRs: ['10.200.0.0/16', 'fd00:200::/64'] } });
  assert.deepEqual(diffIpvs([], live, ownsVirtualServer(served, c.ipvsExcludeCIDRs)), ['-D -t 10.96.0.10:80', '-D -t 192.168.50.1:30080']);
  assert.equal(diffIpvs([], live, ownsVirtualServer(served, undefined)).length, 4, 'without excludeCIDRs all four are ours');
});
