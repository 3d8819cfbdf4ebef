// The agent's own API client: kubeconfig reading (current-context, inline and file
// credentials, relative paths, refusals that name the field), the in-cluster
// endpoint, and real requests over TLS (CA verification, client certificates) and
// with a token file that rotates between requests.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '../../src/agent/watch/kube-client.js';
import { inClusterEndpoint, loadKubeconfigFile, parseKubeconfig } from '../../src/agent/watch/kubeconfig.js';
import { listRaw } from '../../src/agent/watch/raw-list.js';
import { isInputError } from '../../src/model/errors.js';
import { FakeApiServer } from './fake-apiserver.js';
import { apiSlice } from './objects.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'other', cluster: { server: 'https://wrong:1' } }, { name: 'c1', cluster }],
    users: [{ name: 'u1', user }],
    contexts: [{ name: 'other', context: { cluster: 'other', user: 'u1' } }, { name: 'ctx', context: { cluster: 'c1', user: 'u1' } }],
    'current-context': 'ctx',
    ...extra,
  });
}

describe('kubeconfig', () => {
  test('current-context picks the cluster and user; *-data is base64 PEM, token inline', () => {
    const e = parseKubeconfig(
      kubeconfig(
        { server: 'https://10.0.0.1:6443/', 'certificate-authority-data': b64('CA PEM'), 'tls-server-name': 'kubernetes' },
        { 'client-certificate-data': b64('CERT PEM'), 'client-key-data': b64('KEY PEM'), token: 'abc' },
      ),
      '/etc/kc.yaml',
    );
    assert.deepEqual(e, {
      server: 'https://10.0.0.1:6443',
      insecureSkipTLSVerify: false,
      ca: { data: 'CA PEM' },
      tlsServerName: 'kubernetes',
      clientCert: { data: 'CERT PEM' },
      clientKey: { data: 'KEY PEM' },
      token: { data: 'abc' },
    });
  });

  test('file credentials resolve relative to the kubeconfig folder; tokenFile; YAML; insecure-skip-tls-verify', () => {
    const yaml = [
      'apiVersion: v1',
      'kind: Config',
      'current-context: ctx',
      'clusters:',
      '- name: c1',
      '  cluster: {server: "https://api:443", certificate-authority: ca.crt, insecure-skip-tls-verify: true}',
      'users:',
      '- name: u1',
      '  user: {client-certificate: pki/c.crt, client-key: /abs/c.key, tokenFile: tok}',
      'contexts:',
      '- name: ctx',
      '  context: {cluster: c1, user: u1}',
    ].join('\n');
    assert.deepEqual(parseKubeconfig(yaml, '/etc/kube/config'), {
      server: 'https://api:443',
      insecureSkipTLSVerify: true,
      ca: { file: '/etc/kube/ca.crt' },
      clientCert: { file: '/etc/kube/pki/c.crt' },
      clientKey: { file: '/abs/c.key' },
      token: { file: '/etc/kube/tok' },
    });
  });

  test('refusals name the file and the field (exit-2 input errors)', () => {
    const cases: Array<[string, RegExp]> = [
      [kubeconfig({ server: 'https://a:1' }, { exec: { command: 'aws' } }), /--kubeconfig \/k: users\[u1\]\.user\.exec: not supported/],
      [kubeconfig({ server: 'https://a:1' }, {}, { 'current-context': 'nope' }), /--kubeconfig \/k: contexts: no entry named "nope"/],
      [kubeconfig({ server: 'a:1' }, {}), /clusters\[c1\]\.cluster\.server: expected an http\(s\) URL/],
      [kubeconfig({ server: 'https://a:1' }, { 'client-certificate-data': b64('x') }), /users\[u1\]\.user\.client-key: a client certificate needs its key/],
      ['{{{', /--kubeconfig \/k: \(document\): not YAML or JSON/],
    ];
    for (const [text, re] of cases) {
      assert.throws(() => parseKubeconfig(text, '/k'), (e: unknown) => isInputError(e) && re.test((e as Error).message));
    }
    assert.throws(() => loadKubeconfigFile('/nonexistent/kubeconfig'), /--kubeconfig.*"\/nonexistent\/kubeconfig": no such file/);
  });

  test('a JSON kubeconfig is read without loading the YAML parser; a YAML one loads it', () => {
    // In a child: this process has loaded yaml already. Module._cache is one for every require.
    const probe = [
      "import { createRequire } from 'node:module';",
      `import { parseKubeconfig } from ${JSON.stringify(new URL('../../src/agent/watch/kubeconfig.ts', import.meta.url).href)};`,
      "const yamlLoaded = () => Object.keys(createRequire(process.cwd() + '/').cache).some((k) => k.includes('/node_modules/yaml/'));",
      `const json = parseKubeconfig(${JSON.stringify(kubeconfig({ server: 'https://a:1' }, { token: 't' }))}, '/k').server;`,
      'const afterJson = yamlLoaded();',
      "parseKubeconfig('current-context: ctx\\nclusters: [{name: c1, cluster: {server: \"https://b:2\"}}]\\nusers: [{name: u1, user: {}}]\\ncontexts: [{name: ctx, context: {cluster: c1, user: u1}}]', '/k');",
      'console.log(JSON.stringify({ json, afterJson, afterYaml: yamlLoaded() }));',
    ].join('\n');
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', probe], { encoding: 'utf8' });
    assert.deepEqual(JSON.parse(out), { json: 'https://a:1', afterJson: false, afterYaml: true });
  });

  test('in cluster: server from KUBERNETES_SERVICE_HOST/PORT (IPv6 bracketed), CA and token from the ServiceAccount folder', () => {
    assert.equal(inClusterEndpoint({}), undefined);
    assert.deepEqual(inClusterEndpoint({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '6443' }, '/sa'), {
      server: 'https://[fd00::1]:6443',
      insecureSkipTLSVerify: false,
      ca: { file: '/sa/ca.crt' },
      token: { file: '/sa/token' },
    });
  });
});

describe('KubeClient over real HTTP', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'svp-kube-client-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a token file is re-read per request: a rotated ServiceAccount token is used without a restart', async () => {
    const api = await FakeApiServer.start();
    try {
      api.upsert('endpointslices', apiSlice('a', ['10.1.0.1']));
      writeFileSync(join(dir, 'token'), 'first\n');
      const client = new KubeClient({ server: api.url, insecureSkipTLSVerify: false, token: { file: join(dir, 'token') } });
      await listRaw(client, '/apis/discovery.k8s.io/v1/endpointslices', {}, 5000);
      writeFileSync(join(dir, 'token'), 'second\n');
      await listRaw(client, '/apis/discovery.k8s.io/v1/endpointslices', {}, 5000);
      rmSync(join(dir, 'token'));
      // Mid-rotation (file gone for a moment): the last good token, not a failed request.
      await listRaw(client, '/apis/discovery.k8s.io/v1/endpointslices', {}, 5000);
      assert.deepEqual(api.requests.map((r) => r.authorization), ['Bearer first', 'Bearer second', 'Bearer second']);
    } finally {
      await api.close();
    }
  });

  test('plain http: every request on a connection of its own (no kept-alive socket the server may be closing)', async () => {
    const api = await FakeApiServer.start();
    try {
      const client = api.kubeConfig();
      for (let i = 0; i < 3; i++) await listRaw(client, '/apis/discovery.k8s.io/v1/endpointslices', {}, 5000);
      assert.equal(api.connections, 3);
    } finally {
      await api.close();
    }
  });

  test('TLS: the CA verifies the server, the client certificate is presented, a wrong CA is refused', async () => {
    const pki = makePki(dir);
    let seenClientCN: string | undefined;
    const server = https.createServer({ key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      seenClientCN = (req.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'List', metadata: { resourceVersion: '7' }, items: [{ metadata: { name: 'x' } }] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // Files, relative to the kubeconfig, read when connecting.
      const kcPath = join(dir, 'kubeconfig');
      writeFileSync(
        kcPath,
        kubeconfig({ server: url, 'certificate-authority': 'ca.crt', 'tls-server-name': 'apiserver' }, { 'client-certificate': 'client.crt', 'client-key': 'client.key' }),
      );
      const client = new KubeClient(loadKubeconfigFile(kcPath));
      const list = await listRaw(client, '/api/v1/services', {}, 5000);
      assert.equal(list.resourceVersion, '7');
      assert.equal(seenClientCN, 'system:node:agent');

      // The same credentials inline (*-data).
      const inline = new KubeClient(
        parseKubeconfig(
          kubeconfig(
            { server: url, 'certificate-authority-data': b64(pki.ca), 'tls-server-name': 'apiserver' },
            { 'client-certificate-data': b64(pki.clientCert), 'client-key-data': b64(pki.clientKey) },
          ),
          kcPath,
        ),
      );
      assert.equal((await listRaw(inline, '/api/v1/services', {}, 5000)).items.length, 1);

      // A server certificate the CA did not sign: refused, not trusted.
      const otherCa = makePki(join(dir, 'other')).ca;
      const wrong = new KubeClient({ server: url, insecureSkipTLSVerify: false, ca: { data: otherCa }, tlsServerName: 'apiserver', clientCert: { data: pki.clientCert }, clientKey: { data: pki.clientKey } });
      await assert.rejects(listRaw(wrong, '/api/v1/services', {}, 5000), /self[- ]signed|unable to verify|certificate/i);
    } finally {
      server.close();
    }
  });
});

/** A CA, a server certificate for "apiserver" and a client certificate, made with openssl. */
function makePki(dir: string): { ca: string; serverKey: string; serverCert: string; clientKey: string; clientCert: string } {
  execFileSync('mkdir', ['-p', dir]);
  const f = (n: string) => join(dir, n);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-days', '1', '-subj', '/CN=test-ca');
  for (const [name, cn, ext] of [
    ['server', 'apiserver', 'subjectAltName=DNS:apiserver'],
    ['client', 'system:node:agent', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${cn}`);
    writeFileSync(f(`${name}.ext`), `${ext}\n`);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-out', f(`${name}.crt`), '-days', '1', '-extfile', f(`${name}.ext`));
  }
  const read = (n: string) => readFileSync(f(n), 'utf8');
  return { ca: read('ca.crt'), serverKey: read('server.key'), serverCert: read('server.crt'), clientKey: read('client.key'), clientCert: read('client.crt') };
}
