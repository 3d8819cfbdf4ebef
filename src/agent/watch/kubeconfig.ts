// Where the API server is and how to authenticate to it: a kubeconfig file read the
// way kubectl reads one (current-context -> cluster + user), or the in-cluster
// ServiceAccount. Pure apart from reading the kubeconfig text itself: certificate,
// key and token files are named here and read by the client when it connects (a
// token file is re-read on every request, so a rotated ServiceAccount token is
// picked up without a restart).
//
// Only what a node agent needs is supported; `exec` and `auth-provider` plugins and
// basic auth are refused by name rather than silently ignored (they would fail with
// a 401 far from the cause).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { inputError } from '../../model/errors.js';

/** PEM or token text given inline, or a file read when it is needed. */
export type Secret = { readonly data: string } | { readonly file: string };

export interface KubeEndpoint {
  /** https://host:port (or http:// for test servers). */
  readonly server: string;
  readonly ca?: Secret;
  readonly insecureSkipTLSVerify: boolean;
  /** SNI / name checked in the server's certificate when it differs from the server URL's host. */
  readonly tlsServerName?: string;
  readonly clientCert?: Secret;
  readonly clientKey?: Secret;
  /** Bearer token; a file is re-read per request (projected ServiceAccount tokens rotate). */
  readonly token?: Secret;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

const FLAG = '--kubeconfig';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The kubeconfig's document. The YAML parser is loaded only for text that is not JSON
 * (as manifests/read.ts does), not at import: an agent in a pod reads no kubeconfig (the
 * ServiceAccount's, inClusterEndpoint), and the yaml package cost ~2 MB of its RSS
 * (README.md "Memory"). yaml is CommonJS: `require` keeps this sync.
 */
function parseDocument(text: string): unknown {
  if (text.trimStart().startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      // YAML's flow style starts so too, or the text is broken: the YAML parser says which.
    }
  }
  return (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text);
}

/** Reads and resolves a kubeconfig file. Errors (exit 2) name the file and the field. */
export function loadKubeconfigFile(path: string): KubeEndpoint {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw inputError(undefined, FLAG, `${JSON.stringify(path)}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(e)})`}`);
  }
  return parseKubeconfig(text, path);
}

/**
 * A kubeconfig's text -> the endpoint of its current context. Relative file paths are
 * relative to the kubeconfig's folder, as kubectl resolves them.
 */
export function parseKubeconfig(text: string, path: string): KubeEndpoint {
  const fail = (field: string, message: string) => inputError(undefined, `${FLAG} ${path}: ${field}`, message);
  let doc: unknown;
  try {
    doc = parseDocument(text);
  } catch (e) {
    throw fail('(document)', `not YAML or JSON: ${(e as Error).message}`);
  }
  if (!isObj(doc)) throw fail('(document)', 'not a kubeconfig (expected a mapping)');
  const contextName = doc['current-context'];
  if (typeof contextName !== 'string' || contextName === '') throw fail('current-context', 'not set');
  const context = named(doc, 'contexts', contextName, 'context', fail);
  const clusterName = context.cluster;
  if (typeof clusterName !== 'string' || clusterName === '') throw fail(`contexts[${contextName}].context.cluster`, 'not set');
  const cluster = named(doc, 'clusters', clusterName, 'cluster', fail);
  const userName = context.user;
  const user = typeof userName === 'string' && userName !== '' ? named(doc, 'users', userName, 'user', fail) : {};

  const server = cluster.server;
  const at = (o: string, f: string) => `${o}.${f}`;
  const clusterField = (f: string) => at(`clusters[${clusterName}].cluster`, f);
  const userField = (f: string) => at(`users[${String(userName)}].user`, f);
  if (typeof server !== 'string' || !/^https?:\/\/./.test(server)) throw fail(clusterField('server'), `expected an http(s) URL, got ${JSON.stringify(server)}`);
  for (const f of ['exec', 'auth-provider', 'username', 'password']) {
    if (user[f] !== undefined && user[f] !== null) throw fail(userField(f), 'not supported by the svcplane agent (use a client certificate or a token)');
  }
  const base = dirname(path);
  const secret = (o: Obj, fileField: string, dataField: string, field: (f: string) => string, base64: boolean): Secret | undefined => {
    const data = o[dataField];
    if (typeof data === 'string' && data !== '') return { data: base64 ? Buffer.from(data, 'base64').toString('utf8') : data };
    const file = o[fileField];
    if (file === undefined || file === null || file === '') return undefined;
    if (typeof file !== 'string') throw fail(field(fileField), 'expected a file path');
    return { file: isAbsolute(file) ? file : join(base, file) };
  };
  const insecure = cluster['insecure-skip-tls-verify'];
  const tlsServerName = cluster['tls-server-name'];
  const ca = secret(cluster, 'certificate-authority', 'certificate-authority-data', clusterField, true);
  const clientCert = secret(user, 'client-certificate', 'client-certificate-data', userField, true);
  const clientKey = secret(user, 'client-key', 'client-key-data', userField, true);
  const token = secret(user, 'tokenFile', 'token', userField, false);
  if (!clientCert !== !clientKey) throw fail(userField(clientCert ? 'client-key' : 'client-certificate'), 'a client certificate needs its key and the key its certificate');
  return {
    server: server.replace(/\/+$/, ''),
    insecureSkipTLSVerify: insecure === true || insecure === 'true',
    ...(ca ? { ca } : {}),
    ...(typeof tlsServerName === 'string' && tlsServerName !== '' ? { tlsServerName } : {}),
    ...(clientCert && clientKey ? { clientCert, clientKey } : {}),
    ...(token ? { token } : {}),
  };
}

/** contexts / clusters / users: the entry called `name`, its inner mapping. */
function named(doc: Obj, list: string, name: string, inner: string, fail: (field: string, message: string) => Error): Obj {
  const entries = doc[list];
  if (!Array.isArray(entries)) throw fail(list, 'missing');
  const entry = entries.find((e: unknown) => isObj(e) && e.name === name) as Obj | undefined;
  if (!entry) throw fail(list, `no entry named ${JSON.stringify(name)}`);
  const v = entry[inner];
  if (!isObj(v)) throw fail(`${list}[${name}].${inner}`, 'missing');
  return v;
}

/**
 * In a pod: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with the
 * ServiceAccount's CA and token (files read when connecting; the token re-read per
 * request). Undefined when not in a pod (no KUBERNETES_SERVICE_HOST).
 */
export function inClusterEndpoint(env: NodeJS.ProcessEnv = process.env, dir = SERVICE_ACCOUNT_DIR): KubeEndpoint | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host) return undefined;
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    insecureSkipTLSVerify: false,
    ca: { file: join(dir, 'ca.crt') },
    token: { file: join(dir, 'token') },
  };
}
