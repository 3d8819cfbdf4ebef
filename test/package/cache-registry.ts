// A read-only npm registry on 127.0.0.1 that serves what this machine's npm cache
// already holds: the packages of this repository's package-lock.json (their tarballs
// read from ~/.npm/_cacache by integrity, filled by `npm ci`), plus extra tarballs
// (the packed svcplane). It exists because `npm ci` caches tarballs but not the
// registry's package documents, so a plain `npm install --offline svcplane cdk8s`
// has nothing to resolve names against; with it, the test runs the very command a
// user runs (`npm install svcplane cdk8s ...`), with only --registry pointing here,
// and nothing leaves the machine.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

interface LockEntry {
  version?: string;
  integrity?: string;
  inBundle?: boolean;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, unknown>;
  bundleDependencies?: string[];
  bin?: Record<string, string>;
  engines?: Record<string, string>;
  os?: string[];
  cpu?: string[];
  license?: string;
}

interface Version {
  readonly manifest: Record<string, unknown>;
  /** Where the bytes come from. */
  readonly tarball: { readonly integrity: string } | { readonly path: string };
}

export interface CacheRegistry {
  readonly url: string;
  close(): Promise<void>;
}

/** Path of a cached blob in npm's cacache, from an SRI string (sha512-<base64>). */
export function cachePath(cacheDir: string, integrity: string): string {
  const [algo, b64] = integrity.split(/-(.*)/s) as [string, string];
  const hex = Buffer.from(b64, 'base64').toString('hex');
  return join(cacheDir, '_cacache', 'content-v2', algo, hex.slice(0, 2), hex.slice(2, 4), hex.slice(4));
}

/** The lock's packages by name and version (nested copies too; bundled ones travel inside their parent). */
function versionsFromLock(lock: { packages: Record<string, LockEntry> }): Map<string, Map<string, Version>> {
  const out = new Map<string, Map<string, Version>>();
  for (const [path, e] of Object.entries(lock.packages)) {
    if (path === '' || e.inBundle || e.link || !e.version || !e.integrity) continue;
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const { integrity, version, inBundle: _b, link: _l, ...rest } = e;
    const manifest = { name, version, ...rest, ...(e.bundleDependencies ? { bundleDependencies: e.bundleDependencies } : {}) };
    if (!out.has(name)) out.set(name, new Map());
    out.get(name)!.set(version, { manifest, tarball: { integrity } });
  }
  return out;
}

/** Serves the lock's packages from the cache, plus `extra` tarballs (with their package.json). */
export async function startCacheRegistry(opts: {
  lockFile: string;
  cacheDir: string;
  extra: readonly { tarball: string; packageJson: Record<string, unknown> }[];
}): Promise<CacheRegistry> {
  const packages = versionsFromLock(JSON.parse(readFileSync(opts.lockFile, 'utf8')));
  for (const x of opts.extra) {
    const bytes = readFileSync(x.tarball);
    const integrity = `sha512-${createHash('sha512').update(bytes).digest('base64')}`;
    const { name, version } = x.packageJson as { name: string; version: string };
    const { scripts: _s, devDependencies: _d, files: _f, ...manifest } = x.packageJson;
    if (!packages.has(name)) packages.set(name, new Map());
    packages.get(name)!.set(version, { manifest: { ...manifest, _integrity: integrity }, tarball: { path: x.tarball } });
  }

  let base = '';
  const tarballUrl = (name: string, version: string) => `${base}/-/tarball/${encodeURIComponent(name)}/${version}.tgz`;
  const integrityOf = (v: Version): string =>
    'integrity' in v.tarball ? v.tarball.integrity : (v.manifest._integrity as string);

  const server: Server = createServer((req, res) => {
    const url = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const tar = /^\/-\/tarball\/(.+)\/([^/]+)\.tgz$/.exec(url);
    try {
      if (tar) {
        const v = packages.get(tar[1]!)?.get(tar[2]!);
        if (!v) return void res.writeHead(404).end();
        const bytes = readFileSync('path' in v.tarball ? v.tarball.path : cachePath(opts.cacheDir, v.tarball.integrity));
        return void res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
      }
      const name = url.slice(1);
      const versions = packages.get(name);
      if (!versions) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
      const doc = {
        name,
        'dist-tags': { latest: latest([...versions.keys()]) },
        versions: Object.fromEntries(
          [...versions].map(([version, v]) => {
            const { _integrity: _i, ...manifest } = v.manifest;
            return [version, { ...manifest, dist: { tarball: tarballUrl(name, version), integrity: integrityOf(v) } }];
          }),
        ),
      };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: `${base}/`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The highest plain x.y.z version (prereleases last resort). */
function latest(versions: string[]): string {
  const key = (v: string) => v.split(/[.-]/).slice(0, 3).map((n) => Number(n) || 0);
  return [...versions].sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
    return 0;
  }).pop()!;
}
