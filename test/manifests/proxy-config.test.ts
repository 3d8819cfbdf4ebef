import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_PROXY_CONFIG } from '../../src/model/config.js';
import { parseGoDuration, proxyConfigFromObject, readProxyConfig } from '../../src/manifests/proxy-config.js';

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

test('the fields we use are read; others are accepted with one warning each', () => {
  const { config: c, warnings } = readProxyConfig({
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
    // maxPerCore 0 (given) leaves nf_conntrack_max alone: left out; the rest are kube-proxy's defaults.
    conntrack: { min: 131072, tcpEstablishedTimeoutSeconds: 86400, tcpCloseWaitTimeoutSeconds: 3600 },
  });
  assert.deepEqual(warnings, ['KubeProxyConfiguration: featureGates: accepted but not acted on (svcplane has no feature gates)']);
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
  // Strict decoding, as kube-proxy's: an unknown key is an error naming its path, at any depth.
  [{ clusterCidr: '10.244.0.0/16' }, /KubeProxyConfiguration: clusterCidr: unknown field \(did you mean "clusterCIDR"\?\)/],
  [{ iptables: { masqueradebit: 14 } }, /iptables\.masqueradebit: unknown field \(did you mean "masqueradeBit"\?\)/],
  [{ conntrack: { maxPerCPU: 1 } }, /conntrack\.maxPerCPU: unknown field: not in KubeProxyConfiguration v1alpha1/],
  [{ logging: { options: { text: { splitstreams: true } } } }, /logging\.options\.text\.splitstreams: unknown field/],
  [{ logging: { vmodule: [{ filePattern: 'x', level: 2 }] } }, /logging\.vmodule\[0\]\.level: unknown field/],
  [{ userspace: {} }, /userspace: unknown field/],
  // Types of fields svcplane does not act on are still checked.
  [{ featureGates: { Foo: 'yes' } }, /featureGates\.Foo: must be true or false, not the string "yes"/],
  [{ oomScoreAdj: 1.5 }, /oomScoreAdj: must be an integer, not the number 1\.5/],
  [{ clientConnection: { qps: '5' } }, /clientConnection\.qps: must be a number, not the string "5"/],
  // 1e999 parses to Infinity: refused as zod 4 refused it (the schemas are on zod/v3 since session 15).
  [{ clientConnection: { qps: 1e999 } }, /clientConnection\.qps: .*finite/],
  [{ conntrack: { maxPerCore: '32768' } }, /conntrack\.maxPerCore: must be an integer/],
  [{ conntrack: { tcpEstablishedTimeout: 86400 } }, /conntrack\.tcpEstablishedTimeout: must be a string, not the number 86400/],
  [{ conntrack: { udpTimeout: '-5s' } }, /conntrack\.udpTimeout: must not be negative/],
  [{ conntrack: { min: -1 } }, /conntrack\.min: must be greater than or equal to 0/],
  [{ ipvs: { excludeCIDRs: ['10.0.0.0/8', '10.1.2.3'] } }, /ipvs\.excludeCIDRs\[1\]: "10\.1\.2\.3" must be a valid CIDR/],
  [{ ipvs: { tcpFinTimeout: 'soon' } }, /ipvs\.tcpFinTimeout: must be a duration/],
  // Found while writing the schema: a huge duration was Infinity seconds and failed the model's schema (not an InputError).
  [{ iptables: { syncPeriod: `${'9'.repeat(400)}h` } }, /iptables\.syncPeriod: must be at most 2562047h/],
  [{ conntrack: { udpTimeout: '2562048h' } }, /conntrack\.udpTimeout: must be at most 2562047h/],
  [{ ipvs: { strictARP: 'true' } }, /ipvs\.strictARP: must be true or false/],
  [{ healthzBindAddress: '10256' }, /healthzBindAddress: "10256" must be IP:port/],
  [{ metricsBindAddress: 'localhost:10249' }, /metricsBindAddress: "localhost:10249" must be IP:port/],
  [{ metricsBindAddress: '[::1]:0' }, /metricsBindAddress: "\[::1\]:0" must be IP:port/],
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

test('every problem is named at once, an unknown key and a bad value alike', () => {
  assert.throws(
    () => proxyConfigFromObject({ ...base, clusterCidr: 'x', iptables: { masqueradeBit: 'a' } }, 'kp.yaml'),
    (e: Error) => /clusterCidr: unknown field/.test(e.message) && /iptables\.masqueradeBit: must be an integer/.test(e.message),
  );
});

test('the fields a node proxy owns: conntrack, IPVS, listen addresses', () => {
  const c = proxyConfigFromObject({
    ...base,
    healthzBindAddress: '[::]:10256',
    metricsBindAddress: '127.0.0.1:10249',
    ipvs: { excludeCIDRs: ['10.200.0.0/16', 'FD00::/64'], strictARP: true, tcpTimeout: '15m', tcpFinTimeout: '30s', udpTimeout: '0s' },
    conntrack: { maxPerCore: 65536, min: 0, tcpEstablishedTimeout: '2h', tcpCloseWaitTimeout: '1m30s', tcpBeLiberal: true, udpTimeout: '30s', udpStreamTimeout: '2m' },
  });
  assert.equal(c.healthzBindAddress, '[::]:10256');
  assert.equal(c.metricsBindAddress, '127.0.0.1:10249');
  assert.deepEqual(c.ipvsExcludeCIDRs, ['10.200.0.0/16', 'fd00::/64']);
  assert.equal(c.ipvsStrictARP, true);
  assert.deepEqual(c.ipvsTimeouts, { tcpSeconds: 900, tcpFinSeconds: 30, udpSeconds: 0 });
  assert.deepEqual(c.conntrack, {
    maxPerCore: 65536,
    tcpEstablishedTimeoutSeconds: 7200,
    tcpCloseWaitTimeoutSeconds: 90,
    tcpBeLiberal: true,
    udpTimeoutSeconds: 30,
    udpStreamTimeoutSeconds: 120,
  });
  // Unset IPVS settings leave the kernel alone: no field at all.
  const d = proxyConfigFromObject(base);
  assert.equal(d.ipvsStrictARP, undefined);
  assert.equal(d.ipvsTimeouts, undefined);
  assert.equal(d.ipvsExcludeCIDRs, undefined);
});

// What `kubeadm config print init-defaults --component-configs KubeProxyConfiguration`
// writes (v1.35), every top-level field present: it must load, and warn once for each
// field that is set and not acted on.
const KUBEADM_DEFAULTS = {
  ...base,
  bindAddress: '0.0.0.0',
  bindAddressHardFail: false,
  clientConnection: { acceptContentTypes: '', burst: 0, contentType: '', kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf', qps: 0 },
  clusterCIDR: '',
  configSyncPeriod: '0s',
  conntrack: { maxPerCore: null, min: null, tcpBeLiberal: false, tcpCloseWaitTimeout: null, tcpEstablishedTimeout: null, udpStreamTimeout: '0s', udpTimeout: '0s' },
  detectLocal: { bridgeInterface: '', interfaceNamePrefix: '' },
  detectLocalMode: '',
  enableProfiling: false,
  featureGates: {},
  healthzBindAddress: '',
  hostnameOverride: '',
  iptables: { localhostNodePorts: null, masqueradeAll: false, masqueradeBit: null, minSyncPeriod: '0s', syncPeriod: '0s' },
  ipvs: { excludeCIDRs: null, minSyncPeriod: '0s', scheduler: '', strictARP: false, syncPeriod: '0s', tcpFinTimeout: '0s', tcpTimeout: '0s', udpTimeout: '0s' },
  logging: { flushFrequency: 0, options: { json: { infoBufferSize: '0' }, text: { infoBufferSize: '0' } }, verbosity: 0 },
  metricsBindAddress: '',
  mode: '',
  nftables: { masqueradeAll: false, masqueradeBit: null, minSyncPeriod: '0s', syncPeriod: '0s' },
  nodePortAddresses: null,
  oomScoreAdj: null,
  portRange: '',
  showHiddenMetricsForVersion: '',
  winkernel: { enableDSR: false, forwardHealthCheckVip: false, networkName: '', rootHnsEndpointName: '', sourceVip: '' },
};

test("kubeadm's generated file loads as kube-proxy's defaults; only set fields that are not acted on warn", () => {
  const r = readProxyConfig(KUBEADM_DEFAULTS);
  assert.deepEqual(r.config, DEFAULT_PROXY_CONFIG);
  assert.deepEqual(r.warnings, ["KubeProxyConfiguration: clientConnection: accepted but not acted on (the agent's API client is set by --kubeconfig or the pod's service account)"]);
  const noisy = readProxyConfig({ ...KUBEADM_DEFAULTS, oomScoreAdj: -999, enableProfiling: true, winkernel: { enableDSR: true }, portRange: '30000-32767' });
  assert.deepEqual(
    noisy.warnings.map((w) => w.split(':')[1]!.trim()),
    ['clientConnection', 'enableProfiling', 'winkernel', 'oomScoreAdj', 'portRange'],
  );
});
