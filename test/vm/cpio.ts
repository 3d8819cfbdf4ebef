// A writer for the "newc" cpio format, the one the Linux kernel unpacks as an initramfs.
// Written here (not the `cpio` tool) so building the VM's initramfs needs nothing on the
// host beyond node, and so an archive of per-run files can be made in memory in
// milliseconds. The kernel unpacks several archives laid end to end, later ones adding
// to (or replacing files of) earlier ones: runInVm appends a small one to the cached base.

export type CpioEntry =
  | { readonly kind: 'dir'; readonly path: string; readonly mode?: number }
  | { readonly kind: 'file'; readonly path: string; readonly data: Uint8Array | string; readonly mode?: number }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  | { readonly kind: 'chardev'; readonly path: string; readonly major: number; readonly minor: number; readonly mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

/**
 * Serialises entries as one newc archive with its TRAILER!!!, padded to a multiple of 512
 * bytes so another archive can follow. Paths are archive-relative ("usr/bin/x", no leading
 * slash); parents must come before children (the kernel does not create missing parents).
 */
export function writeCpio(entries: readonly CpioEntry[]): Buffer {
  const chunks: Buffer[] = [];
  let offset = 0;
  let ino = 1;
  const push = (b: Buffer): void => {
    chunks.push(b);
    offset += b.length;
  };
  const pad4 = (): void => {
    const rem = offset % 4;
    if (rem !== 0) push(Buffer.alloc(4 - rem));
  };
  const record = (name: string, mode: number, data: Buffer, nlink: number, rdev: readonly [number, number] = [0, 0]): void => {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const fields = [
      ino++, // c_ino: unique per entry, so the kernel never treats two entries as hard links
      mode,
      0, // uid root
      0, // gid root
      nlink,
      0, // mtime fixed: same inputs, same bytes
      data.length,
      0, 0, // dev major/minor
      rdev[0], rdev[1], // rdev major/minor (device nodes only)
      nameBytes.length,
      0, // check (unused by newc)
    ];
    const header = '070701' + fields.map((n) => n.toString(16).padStart(8, '0')).join('');
    push(Buffer.from(header, 'ascii'));
    push(nameBytes);
    pad4();
    push(data);
    pad4();
  };
  for (const e of entries) {
    const name = normalise(e.path);
    if (e.kind === 'dir') record(name, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), 2);
    else if (e.kind === 'file') {
      const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : Buffer.from(e.data);
      record(name, S_IFREG | (e.mode ?? 0o644), data, 1);
    } else if (e.kind === 'chardev') record(name, S_IFCHR | (e.mode ?? 0o600), Buffer.alloc(0), 1, [e.major, e.minor]);
    else record(name, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8'), 1);
  }
  record('TRAILER!!!', 0, Buffer.alloc(0), 1);
  const rem = offset % 512;
  if (rem !== 0) push(Buffer.alloc(512 - rem));
  return Buffer.concat(chunks);
}

function normalise(path: string): string {
  const p = path.replace(/^\/+/, '');
  if (p === '' || p.split('/').some((part) => part === '..' || part === '')) {
    throw new Error(`cpio: bad archive path '${path}'`);
  }
  return p;
}

/** Every parent directory of `paths` ("a/b/c" -> "a", "a/b"), parents first, no duplicates. */
export function parentDirs(paths: Iterable<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const path of paths) {
    const parts = normalise(path).split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!seen.has(dir)) {
        seen.add(dir);
        out.push(dir);
      }
    }
  }
  return out;
}
