// Builds (once, then from cache) what the IPVS test VM boots: Debian's stock kernel, which
// ships ip_vs as modules (the host kernel has none), and a busybox initramfs carrying the
// modules, the host's own ipvsadm / ipset / iptables-nft / ip / nft / conntrack / socat
// with their shared libraries, and test/vm/guest-init.sh as /init.
//
// The kernel package is fetched with `apt-get download` and unpacked with `dpkg-deb`
// (never installed). The cache lives outside the repo, in
// ${SVCPLANE_VM_CACHE:-${XDG_CACHE_HOME:-~/.cache}/svcplane-vm}, keyed by the kernel package,
// the versions of the packages the user-space tools come from, and a hash of this recipe
// (this file, modules.ts, cpio.ts, guest-init.sh): change any of them and the next run
// rebuilds by itself. A fresh machine builds everything on first use.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parentDirs, writeCpio, type CpioEntry } from './cpio.js';
import { parseModuleIndex, resolveModules, VM_MODULES } from './modules.js';

export interface VmAssets {
  /** Path of the kernel image (bzImage). */
  readonly kernel: string;
  /** Path of the base initramfs (uncompressed newc cpio, padded so another may follow). */
  readonly initrd: string;
  /** Kernel release, e.g. "6.1.0-56-amd64". */
  readonly kernelRelease: string;
  /** Debian package and version the kernel comes from. */
  readonly kernelPackage: string;
  /** Modules /init loads, in load order (dependencies resolved). */
  readonly modules: readonly string[];
  /** Cache folder of these assets. */
  readonly dir: string;
  /** True when this call built the assets (a cold cache), false when they were cached. */
  readonly built: boolean;
}

/** User-space programs copied into the VM, as found on the host's PATH. */
const PROGRAMS = ['busybox', 'dash', 'ipvsadm', 'ipset', 'xtables-nft-multi', 'ip', 'nft', 'conntrack', 'socat'] as const;
/** Names that run xtables-nft-multi (it dispatches on argv[0]). */
const XTABLES_NAMES = [
  'iptables', 'iptables-restore', 'iptables-save', 'ip6tables', 'ip6tables-restore', 'ip6tables-save',
  'iptables-nft', 'iptables-nft-restore', 'iptables-nft-save', 'ip6tables-nft', 'ip6tables-nft-restore', 'ip6tables-nft-save',
];
/** Small data files the tools read (protocol/service names, iproute2 tables), copied when present. */
const DATA_PATHS = ['/etc/protocols', '/etc/services', '/etc/iproute2', '/usr/share/iproute2', '/etc/ethertypes'];
const RECIPE_FILES = ['assets.ts', 'modules.ts', 'cpio.ts', 'guest-init.sh'];
const HERE = dirname(fileURLToPath(import.meta.url));
const SEARCH_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

export function vmCacheRoot(): string {
  if (process.env.SVCPLANE_VM_CACHE) return process.env.SVCPLANE_VM_CACHE;
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(xdg, 'svcplane-vm');
}

let memo: Promise<VmAssets> | null = null;

/**
 * Returns the VM's kernel and base initramfs, building them into the cache when missing.
 * Throws with the reason (no apt, no network, a tool or module missing): tests that need
 * the VM then fail, they never skip. Memoised per process (a failure is retried next call).
 */
export function prepareVmAssets(): Promise<VmAssets> {
  memo ??= prepare().catch((err: unknown) => {
    memo = null;
    throw err;
  });
  return memo;
}

async function prepare(): Promise<VmAssets> {
  if (process.platform !== 'linux') throw new Error(`the IPVS test VM is built on Debian Linux; this is ${process.platform}`);
  for (const tool of ['apt-get', 'apt-cache', 'dpkg-deb', 'dpkg-query', 'depmod', 'ldd', 'tar']) {
    if (!(await findOnPath(tool))) throw new Error(`building the test VM needs '${tool}' on PATH (Debian host expected)`);
  }
  const kernelPkg = await resolveKernelPackage();
  const programs = await locatePrograms();
  const userspaceVersions = await packageVersions([...programs.values()]);
  const recipe = createHash('sha256');
  for (const f of RECIPE_FILES) recipe.update(f).update(await readFile(join(HERE, f)));
  const key = createHash('sha256')
    .update(JSON.stringify({ kernel: kernelPkg, userspace: userspaceVersions, recipe: recipe.digest('hex') }))
    .digest('hex')
    .slice(0, 16);

  const root = vmCacheRoot();
  const dir = join(root, `assets-${kernelPkg.release}-${key}`);
  const manifestPath = join(dir, 'manifest.json');
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as { modules: string[] };
    return {
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.cpio'),
      kernelRelease: kernelPkg.release,
      kernelPackage: `${kernelPkg.name} ${kernelPkg.version}`,
      modules: manifest.modules,
      dir,
      built: false,
    };
  }

  await mkdir(root, { recursive: true });
  const deb = await downloadKernel(root, kernelPkg);
  const work = await mkdtemp(join(root, 'build-'));
  try {
    const tree = join(work, 'tree');
    await mkdir(tree);
    await unpackKernel(deb, tree, kernelPkg.release);
    await execa('depmod', ['-b', tree, kernelPkg.release]);
    const modDir = join(tree, 'lib/modules', kernelPkg.release);
    const index = parseModuleIndex(
      await readFile(join(modDir, 'modules.dep'), 'utf8'),
      await readFile(join(modDir, 'modules.builtin'), 'utf8'),
    );
    const modules = resolveModules(index, VM_MODULES);
    const loadOrder = VM_MODULES.filter((m) => !index.builtin.has(m));

    const entries = new ImageBuilder();
    await entries.addBase();
    await entries.addPrograms(programs);
    await entries.addData();
    for (const name of modules) {
      const rel = index.paths.get(name)!;
      entries.addFile(`usr/lib/modules/${kernelPkg.release}/${rel}`, await readFile(join(modDir, rel)));
    }
    for (const f of ['modules.dep', 'modules.alias', 'modules.symbols', 'modules.builtin', 'modules.order']) {
      if (existsSync(join(modDir, f))) entries.addFile(`usr/lib/modules/${kernelPkg.release}/${f}`, await readFile(join(modDir, f)));
    }
    entries.addFile('etc/svcplane-vm/modules', loadOrder.join('\n') + '\n');
    entries.addFile('init', await readFile(join(HERE, 'guest-init.sh')), 0o755);

    const out = join(work, 'out');
    await mkdir(out);
    await writeFile(join(out, 'initrd.cpio'), writeCpio(entries.finish()));
    await copyFile(join(tree, 'boot', `vmlinuz-${kernelPkg.release}`), join(out, 'vmlinuz'));
    await writeFile(
      join(out, 'manifest.json'),
      JSON.stringify({ kernel: kernelPkg, userspace: userspaceVersions, modules: loadOrder, key }, null, 2) + '\n',
    );
    // Atomic publish: a concurrent or interrupted build never leaves a half-written cache.
    await rename(out, dir).catch(async (err: NodeJS.ErrnoException) => {
      if (!existsSync(manifestPath)) throw err; // someone else published the same key first: fine
    });
    // Assets of an older recipe or package set are never used again.
    for (const f of await readdir(root)) {
      if (f.startsWith('assets-') && join(root, f) !== dir) await rm(join(root, f), { recursive: true, force: true });
    }
    return {
      kernel: join(dir, 'vmlinuz'),
      initrd: join(dir, 'initrd.cpio'),
      kernelRelease: kernelPkg.release,
      kernelPackage: `${kernelPkg.name} ${kernelPkg.version}`,
      modules: loadOrder,
      dir,
      built: true,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface KernelPackage {
  readonly name: string; // linux-image-6.1.0-56-amd64
  readonly version: string; // 6.1.192-2
  readonly release: string; // 6.1.0-56-amd64
}

/** linux-image-amd64 is a meta package: the real one is its first dependency. */
async function resolveKernelPackage(): Promise<KernelPackage> {
  const tryResolve = async (): Promise<KernelPackage | null> => {
    // One apt-cache call (~1 s): the meta package pins the real one, "(= version)".
    const show = await execa('apt-cache', ['show', '--no-all-versions', 'linux-image-amd64'], { reject: false });
    const m = /^Depends:.*?\b(linux-image-(\d\S*-amd64)) \(= ([^)\s]+)\)/m.exec(show.stdout);
    if (show.exitCode !== 0 || !m) return null;
    return { name: m[1]!, version: m[3]!, release: m[2]! };
  };
  const first = await tryResolve();
  if (first) return first;
  // A fresh machine may have no package lists yet.
  await aptUpdate();
  const second = await tryResolve();
  if (!second) throw new Error("apt knows no 'linux-image-amd64' even after apt-get update: cannot fetch the VM kernel");
  return second;
}

async function aptUpdate(): Promise<void> {
  const r = await execa('apt-get', ['update', '-qq'], { reject: false, all: true });
  if (r.exitCode !== 0) throw new Error(`apt-get update failed (needed to fetch the VM kernel):\n${r.all}`);
}

async function downloadKernel(root: string, pkg: KernelPackage): Promise<string> {
  const debs = join(root, 'debs');
  await mkdir(debs, { recursive: true });
  const fileName = `${pkg.name}_${pkg.version.replace(/^\d+:/, '')}_amd64.deb`;
  const path = join(debs, fileName);
  if (existsSync(path)) return path;
  const tmp = await mkdtemp(join(debs, 'dl-'));
  try {
    let r = await execa('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: tmp, reject: false, all: true });
    if (r.exitCode !== 0) {
      // Stale lists point at a version the mirror dropped: refresh once and retry.
      await aptUpdate();
      r = await execa('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], { cwd: tmp, reject: false, all: true });
    }
    if (r.exitCode !== 0) throw new Error(`apt-get download ${pkg.name}=${pkg.version} failed:\n${r.all}`);
    const got = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (!got) throw new Error(`apt-get download ${pkg.name} left no .deb in ${tmp}`);
    await rename(join(tmp, got), path);
    // Older kernel packages are useless once the mirror moved on.
    for (const f of await readdir(debs)) {
      if (f.endsWith('.deb') && f !== fileName) await rm(join(debs, f), { force: true });
    }
    return path;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Unpacks only the kernel image and the module folders the VM can use (not all 4000 modules' worth of drivers). */
async function unpackKernel(deb: string, tree: string, release: string): Promise<void> {
  const m = `./lib/modules/${release}`;
  // buffer: false: the tar stream (~400 MB) must flow to tar, not be kept in memory.
  await execa('dpkg-deb', ['--fsys-tarfile', deb], { buffer: { stdout: false } }).pipe('tar', [
    '-x', '-C', tree, '--wildcards',
    `./boot/vmlinuz-${release}`,
    `${m}/modules.*`,
    `${m}/kernel/net/*`,
    `${m}/kernel/crypto/*`,
    `${m}/kernel/lib/*`,
    `${m}/kernel/drivers/net/*`,
    // virtio-pci and 9p: the host's files shared read-only (runInVm's hostFs).
    `${m}/kernel/drivers/virtio/*`,
    `${m}/kernel/fs/9p/*`,
    `${m}/kernel/fs/netfs/*`,
    `${m}/kernel/fs/fscache/*`,
  ]);
}

async function findOnPath(name: string): Promise<string | null> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_PATH];
  for (const d of dirs) {
    const p = join(d, name);
    try {
      if ((await stat(p)).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Program name -> real path on the host. Throws naming the Debian package of each missing one. */
async function locatePrograms(): Promise<Map<string, string>> {
  const pkgOf: Record<string, string> = {
    busybox: 'busybox-static', dash: 'dash', ipvsadm: 'ipvsadm', ipset: 'ipset', 'xtables-nft-multi': 'iptables',
    ip: 'iproute2', nft: 'nftables', conntrack: 'conntrack', socat: 'socat',
  };
  const found = new Map<string, string>();
  const missing: string[] = [];
  for (const p of PROGRAMS) {
    const path = await findOnPath(p);
    if (path) found.set(p, await realpath(path));
    else missing.push(`${p} (apt-get install ${pkgOf[p]})`);
  }
  if (missing.length > 0) throw new Error(`the test VM copies these host programs, which are missing: ${missing.join(', ')}`);
  return found;
}

/** "package=version" of the Debian packages that own the given files, plus libc6. */
async function packageVersions(paths: readonly string[]): Promise<string[]> {
  const pkgs = new Set<string>(['libc6']);
  // dpkg records /bin/x or /usr/bin/x depending on the package (merged /usr): ask for both.
  const spellings = [...new Set(paths.flatMap((p) => [p, p.replace(/^\/usr\//, '/')]))];
  const owners = await execa('dpkg-query', ['-S', ...spellings], { reject: false });
  for (const line of owners.stdout.split('\n')) {
    const colon = line.indexOf(': ');
    if (colon < 0 || line.startsWith('diversion')) continue;
    for (const owner of line.slice(0, colon).split(',')) pkgs.add(owner.trim());
  }
  const sorted = [...pkgs].sort();
  const r = await execa('dpkg-query', ['-W', '-f', '${Package}=${Version}\n', ...sorted], { reject: false });
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** Host paths become archive paths on a merged-/usr layout (/lib -> usr/lib, ...). */
function imagePath(hostPath: string): string {
  const p = hostPath.replace(/^\/+/, '');
  return /^(lib|lib64|bin|sbin)\//.test(p) ? `usr/${p}` : p;
}

class ImageBuilder {
  private readonly files = new Map<string, CpioEntry>();
  private readonly copied = new Set<string>();

  addFile(path: string, data: Uint8Array | string, mode = 0o644): void {
    this.files.set(path, { kind: 'file', path, data, mode });
  }

  addSymlink(path: string, target: string): void {
    this.files.set(path, { kind: 'symlink', path, target });
  }

  async addBase(): Promise<void> {
    for (const d of ['dev', 'proc', 'sys', 'run', 'tmp', 'root', 'work', 'etc', 'var', 'usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64']) {
      this.files.set(d, { kind: 'dir', path: d });
    }
    this.files.set('dev/console', { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 });
    for (const d of ['bin', 'sbin', 'lib', 'lib64']) this.addSymlink(d, `usr/${d}`);
    this.addSymlink('var/run', '/run');
    this.addFile('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    this.addFile('etc/group', 'root:x:0:\n');
    this.addFile('etc/hosts', '127.0.0.1 localhost svcplane-vm\n::1 localhost\n');
  }

  /** Copies each program and its shared libraries (as ldd resolves them on the host). */
  async addPrograms(programs: ReadonlyMap<string, string>): Promise<void> {
    const realNames = new Set<string>();
    for (const [name, path] of programs) {
      await this.copyElf(path, 0o755);
      realNames.add(name);
      if (name === 'dash') {
        // /bin/sh is dash, not busybox sh: Debian's busybox prefers its own applets over
        // PATH, so under busybox sh `ip` would be busybox's ip (no netns), not iproute2's.
        this.addSymlink('usr/bin/sh', 'dash');
        realNames.add('sh');
      }
      if (name === 'xtables-nft-multi') {
        for (const alias of XTABLES_NAMES) {
          this.addSymlink(`usr/sbin/${alias}`, 'xtables-nft-multi');
          realNames.add(alias);
        }
        // iptables extensions are dlopen()ed, so ldd of the binary does not list them.
        const libxtables = (await lddLibraries(path)).find((l) => basename(l).startsWith('libxtables.so'));
        if (!libxtables) throw new Error(`ldd ${path} lists no libxtables: cannot find the iptables extensions folder`);
        const extDir = join(dirname(await realpath(libxtables)), 'xtables');
        for (const f of (await readdir(extDir)).sort()) {
          if (f.endsWith('.so')) await this.copyElf(join(extDir, f), 0o644);
        }
      }
    }
    const busybox = imagePath(programs.get('busybox')!);
    const applets = (await execa(programs.get('busybox')!, ['--list'])).stdout.split('\n').filter(Boolean);
    for (const applet of applets) {
      if (realNames.has(applet) || applet === 'busybox') continue;
      this.addSymlink(`usr/bin/${applet}`, `/${busybox}`);
    }
  }

  async addData(): Promise<void> {
    for (const p of DATA_PATHS) {
      if (existsSync(p)) await this.copyTree(p);
    }
  }

  private async copyTree(hostPath: string): Promise<void> {
    const st = await stat(hostPath);
    if (st.isDirectory()) {
      for (const f of (await readdir(hostPath)).sort()) await this.copyTree(join(hostPath, f));
    } else if (st.isFile()) {
      this.addFile(imagePath(hostPath), await readFile(hostPath));
    }
  }

  private async copyElf(hostPath: string, mode: number): Promise<void> {
    if (this.copied.has(hostPath)) return;
    this.copied.add(hostPath);
    this.addFile(imagePath(hostPath), await readFile(hostPath), mode);
    for (const lib of await lddLibraries(hostPath)) {
      if (this.copied.has(lib)) continue;
      this.copied.add(lib);
      // Keep the name ldd printed (the SONAME link), with the real file's bytes.
      this.addFile(imagePath(lib), await readFile(lib), 0o755);
    }
  }

  /**
   * Directories first (every parent included), then everything else. Sorted by path, so a
   * parent always precedes its children ("usr" < "usr/bin") and the bytes are stable.
   */
  finish(): CpioEntry[] {
    const paths = [...this.files.keys()].sort();
    const dirs = new Set([...parentDirs(paths), ...paths.filter((p) => this.files.get(p)!.kind === 'dir')]);
    const dirEntries: CpioEntry[] = [...dirs].sort().map((d) => this.files.get(d) ?? { kind: 'dir', path: d });
    return [...dirEntries, ...paths.filter((p) => !dirs.has(p)).map((p) => this.files.get(p)!)];
  }
}

/** Absolute paths of the shared libraries ldd resolves for `path` (the dynamic loader included). */
async function lddLibraries(path: string): Promise<string[]> {
  const r = await execa('ldd', [path], { reject: false, all: true });
  if (r.exitCode !== 0) {
    if (/not a dynamic executable|statically linked/.test(r.all ?? '')) return [];
    throw new Error(`ldd ${path} failed:\n${r.all}`);
  }
  const libs: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const arrow = /=>\s*(\/\S+)/.exec(line);
    const direct = /^\s*(\/\S+)\s+\(/.exec(line);
    const lib = arrow?.[1] ?? direct?.[1];
    if (lib) libs.push(lib);
    else if (/=>\s*not found/.test(line)) throw new Error(`ldd ${path}: ${line.trim()}`);
  }
  return libs;
}
