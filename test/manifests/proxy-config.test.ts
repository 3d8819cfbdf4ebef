import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { parseGoDuration, proxyConfigFromObject } from '../../src/manifests/proxy-config.js';

const base = { apiVersion: 'kubeproxy.config.k8s.io/v1alpha1', kind: 'KubeProxyConfiguration' };

test('Go durations', () => {
  assert.equal(parseGoDuration('30s'), 30);
  assert.equal(parseGoDuration('1m'), 60);
  assert.equal(parseGoDuration('1h30m'), 5400);
  assert.equal(parseGoDuration('1.5s'), 1.5);
  assert.equal(parseGoDuration('500ms'), 0.5);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('-2s'), -2);
  for (const bad of ['', '30', 's', '1d', '1m 30s', 'abc']) assert.equal(parseGoDuration(bad), undefined, bad);
});

test('an empty configuration is kube-proxy defaults', () => {
  assert.deepEqual(proxyConfigFromObject(base), DEFAULT_PROXY_CONFIG);
});

test('the fields we use are read, others ignored', () => {
  const c = proxyConfigFromObject({
    ...base,
    clusterCIDR: '10.244.0.0/16, FD00:10:244::/56',
    detectLocalMode: 'InterfaceNamePrefix',
    detectLocal: { interfaceNamePrefix: 'veth' },
    nodePortAddresses: ['192.168.0.0/16', '2001:DB8::/64'],
    iptables: { masqueradeAll: true, masqueradeBit: 5, localhostNodePorts: false, syncPeriod: '1m', minSyncPeriod: '2s' },
    ipvs: { scheduler: 'wrr', syncPeriod: '5m' },
    hostnameOverride: 'node-a',
    featureGates: { Anything: true },
    conntrack: { maxPerCore: 0 },
  });
  assert.deepEqual(c, {
    clusterCIDRs: ['10.244.0.0/16', 'fd00:10:244::/56'],
    detectLocalMode: 'InterfaceNamePrefix',
    interfaceNamePrefix: 'veth',
    nodePortAddresses: ['192.168.0.0/16', '2001:db8::/64'],
    masqueradeAll: true,
    masqueradeBit: 5,
    localhostNodePorts: false,
    ipvsScheduler: 'wrr',
    hostnameOverride: 'node-a',
    syncPeriodSeconds: 60,
    minSyncPeriodSeconds: 2,
  });
});

test('mode picks the section masquerading and sync periods come from', () => {
  const sections = {
    iptables: { masqueradeAll: false, masqueradeBit: 3, syncPeriod: '10s' },
    nftables: { masqueradeAll: true, masqueradeBit: 7, syncPeriod: '20s', minSyncPeriod: '5s' },
    ipvs: { syncPeriod: '40s' },
  };
  const nft = proxyConfigFromObject({ ...base, mode: 'nftables', ...sections });
  assert.deepEqual([nft.masqueradeAll, nft.masqueradeBit, nft.syncPeriodSeconds, nft.minSyncPeriodSeconds], [true, 7, 20, 5]);
  const ipt = proxyConfigFromObject({ ...base, ...sections });
  assert.deepEqual([ipt.masqueradeAll, ipt.masqueradeBit, ipt.syncPeriodSeconds, ipt.minSyncPeriodSeconds], [false, 3, 10, 1]);
  const ipvs = proxyConfigFromObject({ ...base, mode: 'ipvs', ...sections });
  assert.deepEqual([ipvs.masqueradeBit, ipvs.syncPeriodSeconds], [3, 40]);
  // A zero duration is Go's "unset": the default applies.
  assert.equal(proxyConfigFromObject({ ...base, iptables: { syncPeriod: '0s' } }).syncPeriodSeconds, 30);
});

const bad: Array<[object, RegExp]> = [
  [{ clusterCIDR: 10 }, /KubeProxyConfiguration: clusterCIDR: must be a string, not the number 10/],
  [{ clusterCIDR: '10.0.0.0/8,junk' }, /clusterCIDR: "junk" must be a valid CIDR/],
  [{ clusterCIDR: '10.0.0.0/8,11.0.0.0/8' }, /clusterCIDR: may hold at most one CIDR of each family/],
  [{ detectLocalMode: 'Magic' }, /detectLocalMode: unsupported value "Magic"/],
  [{ detectLocalMode: 'BridgeInterface' }, /detectLocal\.bridgeInterface: is required when detectLocalMode is BridgeInterface/],
  [{ nodePortAddresses: ['primary', '10.0.0.0/8'] }, /nodePortAddresses\[0\]: 'primary' may not be combined with CIDRs/],
  [{ nodePortAddresses: ['10.0.0.1'] }, /nodePortAddresses\[0\]: must be a valid CIDR/],
  [{ nodePortAddresses: '10.0.0.0/8' }, /nodePortAddresses: must be a list/],
  [{ iptables: { masqueradeBit: 32 } }, /iptables\.masqueradeBit: must be between 0 and 31/],
  [{ iptables: { masqueradeAll: 'true' } }, /iptables\.masqueradeAll: must be true or false/],
  [{ iptables: { syncPeriod: 30 } }, /iptables\.syncPeriod: must be a string/],
  [{ iptables: { syncPeriod: '30 seconds' } }, /iptables\.syncPeriod: must be a duration such as "30s"/],
  [{ nftables: { minSyncPeriod: '-1s' } }, /nftables\.minSyncPeriod: must not be negative/],
  [{ ipvs: { scheduler: 1 } }, /ipvs\.scheduler: must be a string/],
  // Found by test/fuzz: any string was taken, and written verbatim into ipvsadm -R input.
  [{ ipvs: { scheduler: 'rr\n-A -t 10.0.0.1:80 -s rr' } }, /ipvs\.scheduler: unsupported value "rr\\n-A -t 10\.0\.0\.1:80 -s rr": must be one of "rr"/],
  [{ ipvs: { scheduler: 'fastest' } }, /ipvs\.scheduler: unsupported value "fastest"/],
  // Found by test/fuzz: any string was taken, and the iptables render then failed with a plain Error (exit 1, no field named).
  [{ detectLocalMode: 'InterfaceNamePrefix', detectLocal: { interfaceNamePrefix: '"; -A INPUT -j ACCEPT #' } }, /detectLocal\.interfaceNamePrefix: "\\"; -A INPUT -j ACCEPT #" must be an interface name/],
  [{ detectLocalMode: 'BridgeInterface', detectLocal: { bridgeInterface: 'br0\n' } }, /detectLocal\.bridgeInterface: "br0\\n" must be an interface name/],
  [{ detectLocalMode: 'BridgeInterface', detectLocal: { bridgeInterface: 'a-bridge-name-16' } }, /detectLocal\.bridgeInterface: .* must be an interface name: 1-15/],
  [{ detectLocalMode: 'InterfaceNamePrefix', detectLocal: { interfaceNamePrefix: 'abcdefghijklmno' } }, /detectLocal\.interfaceNamePrefix: "abcdefghijklmno" must be at most 14 characters/],
  [{ mode: 'userspace' }, /mode: unsupported value "userspace"/],
  [{ apiVersion: 'kubeproxy.config.k8s.io/v1' }, /apiVersion: must be "kubeproxy\.config\.k8s\.io\/v1alpha1"/],
];
for (const [obj, message] of bad) {
  test(`rejects ${JSON.stringify(obj)}`, () => assert.throws(() => proxyConfigFromObject({ ...base, ...obj }, 'kp.yaml#1'), message));
}

test('the backend being run picks the section, over the file\'s mode (as --proxy-mode does)', () => {
  const obj = {
    mode: 'iptables',
    iptables: { syncPeriod: '30s', minSyncPeriod: '1s', masqueradeBit: 14 },
    nftables: { syncPeriod: '5s', minSyncPeriod: '250ms', masqueradeBit: 10 },
    ipvs: { syncPeriod: '7s', minSyncPeriod: '2s' },
  };
  const nft = proxyConfigFromObject(obj, 'x', 'nftables');
  assert.equal(nft.syncPeriodSeconds, 5);
  assert.equal(nft.minSyncPeriodSeconds, 0.25);
  assert.equal(nft.masqueradeBit, 10);
  assert.equal(proxyConfigFromObject(obj, 'x', 'ipvs').syncPeriodSeconds, 7);
  assert.equal(proxyConfigFromObject(obj, 'x').syncPeriodSeconds, 30, 'without a backend the file\'s mode decides');
});
