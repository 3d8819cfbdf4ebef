// Every construct-level check fails synth with the construct's path and the
// manifest field; the API server's rules (validateService) are reported the same way.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chart, Duration, Testing } from 'cdk8s';
import { LabelExpression, Namespaces, Pods } from 'cdk8s-plus-33';
import {
  ClusterIPService,
  ExternalNameService,
  HeadlessService,
  IpFamilyPolicy,
  LoadBalancerService,
  NodePortService,
  SessionAffinity,
  TrafficPolicy,
} from '../../src/constructs/index.js';
import { SERVICE_PROXY_NAME_LABEL } from '../../src/model/plan.js';
import { appAndChart, errorOf } from './helpers.js';

/** The synth error of an app holding only what `build` adds. */
function synthError(build: (chart: Chart) => void, props = {}): string {
  const { app, chart } = appAndChart(props);
  build(chart);
  return errorOf(() => app.check());
}

test('a selector and static endpoints together', () => {
  const msg = synthError((c) => new ClusterIPService(c, 'db', { ports: [{ port: 5432 }], selector: { app: 'db' }, endpoints: [{ addresses: ['192.0.2.1'] }] }));
  assert.match(msg, /\[chart\/db\] Service [^:]+: endpoints: cannot be combined with a selector/);
});

test('clusterIP and clusterIPs that disagree', () => {
  const msg = synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.21'] }));
  assert.match(msg, /\[chart\/s\] Service [^:]+: spec\.clusterIPs: its first entry must be clusterIP 10\.96\.0\.20/);
});

test("the service CIDR's first address belongs to the kubernetes Service; network and broadcast are refused too", () => {
  assert.match(
    synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], clusterIP: '10.96.0.1' })),
    /\[chart\/s\] Service [^:]+: spec\.clusterIP: 10\.96\.0\.1 is the first address of 10\.96\.0\.0\/12, reserved for the kubernetes Service/,
  );
  assert.match(synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], clusterIP: '10.96.0.0' })), /\[chart\/s\] Service [^:]+: spec\.clusterIPs\[0\]: must not be the network address/);
  assert.match(synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], clusterIP: '10.111.255.255' })), /\[chart\/s\] Service [^:]+: spec\.clusterIPs\[0\]: must not be the broadcast address/);
  assert.match(synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], clusterIP: '10.200.0.9' })), /\[chart\/s\] Service [^:]+: spec\.clusterIPs\[0\]: must be inside a service CIDR/);
});

test('session affinity timeout: needs ClientIP, whole seconds, at most a day', () => {
  assert.match(
    synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], sessionAffinityTimeout: Duration.minutes(5) })),
    /\[chart\/s\] Service [^:]+: spec\.sessionAffinityConfig\.clientIP\.timeoutSeconds: sessionAffinityTimeout needs sessionAffinity CLIENT_IP/,
  );
  for (const d of [Duration.days(2), Duration.millis(1500), Duration.seconds(0)]) {
    assert.match(
      synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], sessionAffinity: SessionAffinity.CLIENT_IP, sessionAffinityTimeout: d })),
      /\[chart\/s\] Service [^:]+: spec\.sessionAffinityConfig\.clientIP\.timeoutSeconds: sessionAffinityTimeout must be whole seconds from 1s to 86400s/,
    );
  }
});

test('healthCheckNodePort without externalTrafficPolicy Local', () => {
  const msg = synthError((c) => new LoadBalancerService(c, 'lb', { ports: [{ port: 80 }], healthCheckNodePort: 30999 }));
  assert.match(msg, /\[chart\/lb\] Service [^:]+: spec\.healthCheckNodePort: needs externalTrafficPolicy LOCAL/);
});

test('static endpoints: addresses must be IPs, one per family, and target ports numbers', () => {
  const msg = synthError(
    (c) =>
      new ClusterIPService(c, 'ext', {
        ports: [{ name: 'a', port: 80, targetPort: 'http' }, { name: 'b', port: 81 }],
        endpoints: [{ addresses: ['db.example.com'] }, { addresses: ['192.0.2.1', '192.0.2.2'] }, { addresses: [] }],
      }),
  );
  assert.match(msg, /\[chart\/ext\] Service [^:]+: endpoints\[0\]\.addresses\[0\]: "db\.example\.com" is not an IP address/);
  assert.match(msg, /\[chart\/ext\] Service [^:]+: endpoints\[1\]\.addresses\[1\]: a second IPv4 address: give each backend its own endpoint/);
  assert.match(msg, /\[chart\/ext\] Service [^:]+: endpoints\[2\]\.addresses: needs at least one address/);
  assert.match(msg, /\[chart\/ext\] Service [^:]+: spec\.ports\[0\]\.targetPort: is the port name "http", but static endpoints have no containers/);
});

test('workload selectors a Service cannot express', () => {
  assert.match(
    synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], selector: Pods.select(c, 'p', { labels: { a: 'b' }, expressions: [LabelExpression.in('tier', ['x', 'y'])] }) })),
    /\[chart\/s\] Service [^:]+: spec\.selector: selects pods with label expressions/,
  );
  assert.match(
    synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], selector: Pods.select(c, 'p', { labels: { a: 'b' }, namespaces: Namespaces.select(c, 'n', { names: ['elsewhere'] }) }) })),
    /\[chart\/s\] Service [^:]+: spec\.selector: selects pods in namespace elsewhere but the Service is in test/,
  );
  assert.match(synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], selector: Pods.select(c, 'p', {}) })), /\[chart\/s\] Service [^:]+: spec\.selector: selects no labels/);
});

test('the service-proxy-name label is the construct’s to set', () => {
  const msg = synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], metadata: { labels: { [SERVICE_PROXY_NAME_LABEL]: 'other' } } }));
  assert.match(msg, /\[chart\/s\] Service [^:]+: metadata\.labels\[service\.kubernetes\.io\/service-proxy-name\]: is set by the construct: choose the proxy with the `proxy` prop/);
});

test('RequireDualStack in an app with one service CIDR', () => {
  const msg = synthError((c) => new ClusterIPService(c, 's', { ports: [{ port: 80 }], ipFamilyPolicy: IpFamilyPolicy.REQUIRE_DUAL_STACK }), { serviceCIDRs: ['10.43.0.0/16'] });
  assert.match(msg, /\[chart\/s\] Service [^:]+: spec\.ipFamilyPolicy: needs an IPv6 ClusterIP but the app has no IPv6 service CIDR \(serviceCIDRs: 10\.43\.0\.0\/16\)/);
});

test("the API server's rules, with the app's NodePort range: each issue under the construct path and field", () => {
  const msg = synthError(
    (c) => {
      new NodePortService(c, 'np', { ports: [{ port: 80, nodePort: 30000 }] });
      new ClusterIPService(c, 'multi', { ports: [{ port: 80 }, { name: 'x', port: 81 }, { name: 'x', port: 82 }] });
      new ClusterIPService(c, 'dup', { ports: [{ name: 'a', port: 80 }, { name: 'b', port: 80 }] });
      new ExternalNameService(c, 'en', { externalName: 'Not A Host' });
      new LoadBalancerService(c, 'lb', { ports: [{ port: 80 }], loadBalancerIngress: ['not-an-ip'], loadBalancerSourceRanges: ['10.0.0.0/33'] });
      new ClusterIPService(c, 'Bad_Name', { metadata: { name: 'Bad_Name' }, ports: [{ port: 80 }] });
      new NodePortService(c, 'local', { ports: [{ port: 70000 }], externalTrafficPolicy: TrafficPolicy.LOCAL });
    },
    { nodePortRange: { min: 31000, max: 31999 } },
  );
  assert.match(msg, /\[chart\/np\] Service [^:]+: spec\.ports\[0\]\.nodePort: must be in the node port range 31000-31999/);
  assert.match(msg, /\[chart\/multi\] Service [^:]+: spec\.ports\[0\]\.name: is required when the Service has more than one port/);
  assert.match(msg, /\[chart\/multi\] Service [^:]+: spec\.ports\[2\]\.name: duplicate port name "x"/);
  assert.match(msg, /\[chart\/dup\] Service [^:]+: spec\.ports\[1\]: duplicate port 80\/TCP/);
  assert.match(msg, /\[chart\/en\] Service [^:]+: spec\.externalName: must be a lowercase RFC 1123 subdomain/);
  assert.match(msg, /\[chart\/lb\] Service [^:]+: metadata\.annotations\[svcplane\.io\/load-balancer-ingress\]: "not-an-ip" must be a valid IP address/);
  assert.match(msg, /\[chart\/lb\] Service [^:]+: spec\.loadBalancerSourceRanges\[0\]: must be a valid CIDR/);
  assert.match(msg, /\[chart\/Bad_Name\] Service [^:]+: metadata\.name: must be a DNS-1035 label/);
  assert.match(msg, /\[chart\/local\] Service [^:]+: spec\.ports\[0\]\.port: must be between 1 and 65535/);
});

test('an escape-hatch patch is validated as written', async () => {
  const { JsonPatch } = await import('cdk8s');
  const msg = synthError((c) => {
    const s = new ClusterIPService(c, 's', { ports: [{ port: 80 }] });
    s.apiObject.addJsonPatch(JsonPatch.add('/spec/sessionAffinity', 'Sticky'));
  });
  assert.match(msg, /\[chart\/s\] Service [^:]+: spec\.sessionAffinity: unsupported value "Sticky"/);
});

test('a headless Service needs no ports; a ClusterIP Service does', () => {
  const { app, chart } = appAndChart();
  new HeadlessService(chart, 'h', { selector: { a: 'b' } });
  app.check();
  assert.match(synthError((c) => new ClusterIPService(c, 's', { ports: [] })), /\[chart\/s\] Service [^:]+: spec\.ports: at least one port is required/);
});

test('the checks also run under a plain cdk8s App (through cdk8s validation)', () => {
  const app = Testing.app();
  const chart = new Chart(app, 'plain');
  new ClusterIPService(chart, 'db', { ports: [{ port: 5432 }], selector: { app: 'db' }, endpoints: [{ addresses: ['192.0.2.1'] }] });
  assert.match(errorOf(() => app.synthYaml()), /\[plain\/db\] Service [^:]+: endpoints: cannot be combined with a selector/);
});

test('bad app props: InputErrors naming the field', async () => {
  const { SvcplaneApp } = await import('../../src/constructs/index.js');
  assert.match(errorOf(() => new SvcplaneApp({ serviceCIDRs: ['10.0.0.0/8', '192.168.0.0/16'] })), /serviceCIDRs\[1\]: a second IPv4 CIDR/);
  assert.match(errorOf(() => new SvcplaneApp({ serviceCIDRs: ['nope'] })), /serviceCIDRs\[0\]: "nope" is not a CIDR/);
  assert.match(errorOf(() => new SvcplaneApp({ serviceCIDRs: [] })), /serviceCIDRs: must hold one or two CIDRs/);
  assert.match(errorOf(() => new SvcplaneApp({ nodePortRange: { min: 32000, max: 31000 } })), /nodePortRange: must be two ports min <= max/);
});

/** The live objects of test/e2e/forwarding-accepts.test.ts, as constructs: authoring refuses both. */
function liveObjectsAsConstructs(c: Chart): void {
  new NodePortService(c, 'np', { ports: [{ port: 80, nodePort: 3001 }], selector: { app: 'web' } });
  new ClusterIPService(c, 'outside', { ports: [{ port: 80 }], clusterIP: '10.200.0.10', selector: { app: 'web' } });
}

test('a NodePort of 3001 and a ClusterIP outside every service CIDR fail synth, each naming its construct and field', () => {
  const msg = synthError(liveObjectsAsConstructs, { serviceCIDRs: ['10.96.0.0/12'] });
  assert.match(msg, /\[chart\/np\] Service [^:]+: spec\.ports\[0\]\.nodePort: .*30000-32767/);
  assert.match(msg, /\[chart\/outside\] Service [^:]+: spec\.clusterIPs?(\[0\])?: must be inside a service CIDR \(10\.96\.0\.0\/12\)/);
});

test('an app whose synth fails prints the problems one a line, no stack, no object dump, and exits 2', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const { execa } = await import('execa');
  const { createRequire } = await import('node:module');
  const constructs = fileURLToPath(new URL('../../src/constructs/index.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'svp-synth-'));
  try {
    const main = join(dir, 'main.mts');
    writeFileSync(
      main,
      [
        // Outside the repository 'cdk8s' does not resolve by name: the same file by path.
        `import { Chart } from ${JSON.stringify(createRequire(import.meta.url).resolve('cdk8s'))};`,
        `import { ClusterIPService, NodePortService, SvcplaneApp } from ${JSON.stringify(constructs)};`,
        `const app = new SvcplaneApp({ outdir: ${JSON.stringify(join(dir, 'dist'))}, serviceCIDRs: ['10.96.0.0/12'] });`,
        `const c = new Chart(app, 'chart', { namespace: 'shop' });`,
        `new NodePortService(c, 'np', { ports: [{ port: 80, nodePort: 3001 }], selector: { app: 'web' } });`,
        `new ClusterIPService(c, 'outside', { ports: [{ port: 80 }], clusterIP: '10.200.0.10', selector: { app: 'web' }, metadata: { labels: { 'x': '\\u001b[31m' } } });`,
        `app.synthOrExit();`,
      ].join('\n'),
    );
    const r = await execa('node', ['--import', 'tsx', main], { reject: false, cwd: fileURLToPath(new URL('../..', import.meta.url)) });
    assert.equal(r.exitCode, 2, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines[0], 'svcplane synth failed:');
    assert.ok(lines.slice(1).every((l) => l.startsWith('  [chart/')), `one problem a line:\n${r.stderr}`);
    assert.ok(lines.some((l) => /\[chart\/np\].*nodePort/.test(l)));
    assert.ok(lines.some((l) => /\[chart\/outside\].*service CIDR/.test(l)));
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack');
    assert.doesNotMatch(r.stderr, /problems:|exitCode/, 'no object dump');
    assert.ok(!r.stderr.includes('\u001b'), 'a control character in a value is escaped');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('thrown uncaught, the synth error shows its problems without a stack or its fields', async () => {
  const { SvcplaneSynthError } = await import('../../src/constructs/synth-error.js');
  const e = new SvcplaneSynthError([{ path: 'chart/np', field: 'spec.ports[0].nodePort', message: 'must be in the node port range 30000-32767' }]);
  assert.equal(e.stack, e.message);
  assert.deepEqual(Object.keys(e), []);
  assert.equal(e.exitCode, 2);
  assert.equal(e.problems.length, 1);
});
