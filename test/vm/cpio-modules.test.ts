// Unit tests of the VM harness's pure parts (no VM): the newc cpio writer the kernel must
// accept, the per-run archive, and module dependency resolution.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { writeCpio } from './cpio.js';
import { moduleName, parseModuleIndex, resolveModules } from './modules.js';
import { runArchive } from './run.js';

interface Parsed {
  name: string;
  mode: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Buffer;
}

/** A minimal newc reader: checks magic and 4-byte alignment as the kernel does. */
function readCpio(buf: Buffer): Parsed[] {
  const out: Parsed[] = [];
  let off = 0;
  for (;;) {
    assert.equal(off % 4, 0, 'headers must be 4-byte aligned');
    assert.equal(buf.toString('ascii', off, off + 6), '070701', `bad magic at ${off}`);
    const field = (i: number): number => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1);
    const rdevMajor = field(9);
    const rdevMinor = field(10);
    const size = field(6);
    const nameSize = field(11);
    const nameStart = off + 110;
    const name = buf.toString('utf8', nameStart, nameStart + nameSize - 1);
    assert.equal(buf[nameStart + nameSize - 1], 0, 'name must be NUL-terminated');
    const dataStart = Math.ceil((nameStart + nameSize) / 4) * 4;
    const data = buf.subarray(dataStart, dataStart + size);
    off = Math.ceil((dataStart + size) / 4) * 4;
    if (name === 'TRAILER!!!') return out;
    out.push({ name, mode, rdevMajor, rdevMinor, data });
  }
}

describe('writeCpio', () => {
  it('writes newc entries the kernel can unpack, padded to 512 bytes for a following archive', () => {
    const buf = writeCpio([
      { kind: 'dir', path: 'etc' },
      { kind: 'file', path: '/etc/x', data: 'hello', mode: 0o600 },
      { kind: 'symlink', path: 'bin', target: 'usr/bin' },
      { kind: 'chardev', path: 'dev/console', major: 5, minor: 1 },
    ]);
    assert.equal(buf.length % 512, 0);
    const entries = readCpio(buf);
    assert.deepEqual(entries.map((e) => e.name), ['etc', 'etc/x', 'bin', 'dev/console']);
    assert.equal(entries[0]!.mode, 0o040755);
    assert.equal(entries[1]!.mode, 0o100600);
    assert.equal(entries[1]!.data.toString(), 'hello');
    assert.equal(entries[2]!.mode, 0o120777);
    assert.equal(entries[2]!.data.toString(), 'usr/bin');
    assert.deepEqual([entries[3]!.mode, entries[3]!.rdevMajor, entries[3]!.rdevMinor], [0o020600, 5, 1]);
  });

  it('is deterministic and refuses paths that climb out', () => {
    const e = [{ kind: 'file' as const, path: 'a', data: 'x' }];
    assert.deepEqual(writeCpio(e), writeCpio(e));
    assert.throws(() => writeCpio([{ kind: 'file', path: 'a/../b', data: '' }]), /bad archive path/);
  });
});

describe('runArchive', () => {
  it('carries the script and input files under /work, parents first', () => {
    const entries = readCpio(runArchive('echo hi', { 'z.txt': 'z', 'a/b.txt': 'b' }));
    assert.deepEqual(entries.map((e) => e.name), [
      'work', 'work/input', 'work/input/a', 'work/script.sh', 'work/input/a/b.txt', 'work/input/z.txt',
    ]);
    assert.equal(entries.find((e) => e.name === 'work/script.sh')!.mode, 0o100755);
    assert.equal(entries.find((e) => e.name === 'work/input/a/b.txt')!.data.toString(), 'b');
  });

  it('rejects input names that are absolute or climb out', () => {
    assert.throws(() => runArchive('', { '../etc/passwd': '' }), /bad input file name/);
    assert.throws(() => runArchive('', { '/x': '' }), /bad input file name/);
  });
});

describe('kernel modules', () => {
  const index = parseModuleIndex(
    [
      'kernel/net/netfilter/ipvs/ip_vs_rr.ko: kernel/net/netfilter/ipvs/ip_vs.ko kernel/net/netfilter/nf_conntrack.ko',
      'kernel/net/netfilter/ipvs/ip_vs.ko: kernel/net/netfilter/nf_conntrack.ko kernel/lib/libcrc32c.ko',
      'kernel/net/netfilter/nf_conntrack.ko: kernel/lib/libcrc32c.ko',
      'kernel/lib/libcrc32c.ko:',
      'kernel/crypto/crc32c_generic.ko:',
    ].join('\n'),
    'kernel/net/netfilter/x_tables.ko\n',
  );

  it('orders dependencies before dependants and leaves built-ins out', () => {
    assert.deepEqual(resolveModules(index, ['crc32c_generic', 'x_tables', 'ip_vs_rr']), [
      'crc32c_generic', 'libcrc32c', 'nf_conntrack', 'ip_vs', 'ip_vs_rr',
    ]);
  });

  it('names every module the kernel lacks', () => {
    assert.throws(() => resolveModules(index, ['ip_vs', 'ip_vs_nope', 'xt_nope']), /lacks module\(s\): ip_vs_nope, xt_nope/);
  });

  it('normalises module file names as the kernel does', () => {
    assert.equal(moduleName('kernel/crypto/crc32c-generic.ko.xz'), 'crc32c_generic');
  });
});
