// IPVS diff: only changed virtual servers, real servers and set members are sent;
// `ipvsadm -Sn` and `ipset save` parse back what we write.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { diffIpsets, diffIpvs, parseIpsetSave, parseIpvsadmSave, rebuildName } from '../../../src/backends/ipvs/diff.js';
import { COUNTED_SET_NAMES } from '../../../src/backends/ipvs/refusals.js';
import { SECTION, splitSections } from '../../../src/backends/ipvs/document.js';
import { ipvsBackend } from '../../../src/backends/ipvs/index.js';
import { renderIpvs } from '../../../src/backends/ipvs/render.js';
import { systemExec } from '../../../src/exec/system-exec.js';
import { features } from '../../helpers/features.js';

const all = () => true;

describe('ipvs diff', () => {
  it('what we render parses back as the same virtual servers: nothing to send', () => {
    for (const inp of Object.values(features)) {
      const text = splitSections(ipvsBackend.render(inp)).get(SECTION.ipvs)!;
      const want = renderIpvs(inp).families.flatMap((f) => f.virtualServers);
      assert.deepEqual(diffIpvs(want, parseIpvsadmSave(text), all), []);
    }
  });

  it('one real server added, one weight changed, one virtual server gone, one scheduler changed', () => {
    const live = parseIpvsadmSave(
      [
        '-A -t 10.96.0.1:80 -s rr',
        '-a -t 10.96.0.1:80 -r 10.244.1.1:8080 -m -w 1',
        '-a -t 10.96.0.1:80 -r 10.244.1.2:8080 -m -w 1',
        '-A -u [fd00::2]:53 -s rr -p 60',
        '-A -t 10.96.0.3:80 -s rr',
      ].join('\n'),
    );
    const want = [
      { protocol: 'tcp' as const, address: '10.96.0.1', port: 80, scheduler: 'rr', service: 'x', realServers: [
        { address: '10.244.1.1', port: 8080, weight: 1 },
        { address: '10.244.1.2', port: 8080, weight: 0 },
        { address: '10.244.1.3', port: 8080, weight: 1 },
      ] },
      { protocol: 'udp' as const, address: 'fd00::2', port: 53, scheduler: 'sh', persistentSeconds: 60, service: 'y', realServers: [] },
    ];
    assert.deepEqual(diffIpvs(want, live, all), [
      '-e -t 10.96.0.1:80 -r 10.244.1.2:8080 -m -w 0',
      '-a -t 10.96.0.1:80 -r 10.244.1.3:8080 -m -w 1',
      '-E -u [fd00::2]:53 -s sh -p 60',
      '-D -t 10.96.0.3:80',
    ]);
    // A virtual server that is not ours (not on our addresses) is never deleted.
    assert.deepEqual(diffIpvs(want, live, (v) => v.address !== '10.96.0.3').filter((c) => c.startsWith('-D')), []);
  });

  it('ipset members: adds before, deletions after; missing sets created', () => {
    const live = parseIpsetSave('create SVP-CLUSTER-IP hash:ip,port family inet hashsize 1024 maxelem 65536\nadd SVP-CLUSTER-IP 10.96.0.1,tcp:80\nadd SVP-CLUSTER-IP 10.96.0.9,tcp:80\n');
    const d = diffIpsets(
      [
        { name: 'SVP-CLUSTER-IP', type: 'hash:ip,port', family: 'IPv4', comment: '', entries: ['10.96.0.1,tcp:80', '10.96.0.2,udp:53'] },
        { name: 'SVP-NODE-PORT-TCP', type: 'bitmap:port', family: 'IPv4', comment: '', entries: ['30080'] },
      ],
      live,
    );
    assert.deepEqual(d.adds, ['add SVP-CLUSTER-IP 10.96.0.2,udp:53 -exist', 'create SVP-NODE-PORT-TCP bitmap:port range 0-65535 -exist', 'add SVP-NODE-PORT-TCP 30080 -exist']);
    assert.deepEqual(d.dels, ['del SVP-CLUSTER-IP 10.96.0.9,tcp:80 -exist']);
  });

  it('the kernel\'s `ipset save` of our sets parses back to our entries (real ipset, throw-away namespace)', async () => {
    const ns = `svp-ipsetrt-${process.pid}`;
    await execa('ip', ['netns', 'add', ns]);
    try {
      for (const inp of [features['loadbalancer-source-ranges']!, features['dual-stack']!, features['nodeport']!]) {
        const r = renderIpvs(inp);
        const sets = r.families.flatMap((f) => f.ipsets);
        await execa('ip', ['netns', 'exec', ns, 'ipset', 'flush'], { reject: false });
        const first = diffIpsets(sets, parseIpsetSave((await execa('ip', ['netns', 'exec', ns, 'ipset', 'save'])).stdout));
        const res = await systemExec.run({ file: 'ipset', args: ['restore'], netns: ns, input: first.adds.join('\n') + '\n' });
        assert.equal(res.exitCode, 0, res.stderr);
        const again = diffIpsets(sets, parseIpsetSave((await execa('ip', ['netns', 'exec', ns, 'ipset', 'save'])).stdout));
        assert.deepEqual(again, { rebuild: [], adds: [], dels: [] }, 'a second diff against the kernel finds nothing');
      }
    } finally {
      await execa('ip', ['netns', 'delete', ns], { reject: false });
    }
  });
});

describe('ipvs sets without the counters we want (created by an older svcplane)', () => {
  const NO_EP = { name: 'SVP-NO-ENDPOINTS', type: 'hash:ip,port', family: 'IPv4', comment: '', counters: true, entries: ['10.96.0.40,tcp:80', '10.96.0.41,tcp:80'] } as const;

  it('are rebuilt in a copy with counters, swapped in and the old one destroyed; the entries diff runs on top', () => {
    const live = parseIpsetSave('create SVP-NO-ENDPOINTS hash:ip,port family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x1\nadd SVP-NO-ENDPOINTS 10.96.0.40,tcp:80\nadd SVP-NO-ENDPOINTS 10.96.0.9,tcp:80\n');
    assert.deepEqual(diffIpsets([NO_EP], live), {
      rebuild: [
        'create SVP-NO-ENDPOINTS-C hash:ip,port family inet counters -exist',
        'flush SVP-NO-ENDPOINTS-C',
        'add SVP-NO-ENDPOINTS-C 10.96.0.40,tcp:80 -exist',
        'add SVP-NO-ENDPOINTS-C 10.96.0.9,tcp:80 -exist',
        'swap SVP-NO-ENDPOINTS-C SVP-NO-ENDPOINTS',
        'destroy SVP-NO-ENDPOINTS-C',
      ],
      adds: ['add SVP-NO-ENDPOINTS 10.96.0.41,tcp:80 -exist'],
      dels: ['del SVP-NO-ENDPOINTS 10.96.0.9,tcp:80 -exist'],
    });
    const counted = parseIpsetSave('create SVP-NO-ENDPOINTS hash:ip,port family inet hashsize 1024 maxelem 65536 counters bucketsize 12 initval 0x1\nadd SVP-NO-ENDPOINTS 10.96.0.40,tcp:80 packets 3 bytes 180\n');
    assert.deepEqual(diffIpsets([NO_EP], counted).rebuild, [], 'a set that has them is left alone');
  });

  it('every copy name fits ipset\'s 31 characters', () => {
    for (const n of COUNTED_SET_NAMES) assert.ok(rebuildName(n).length <= 31, rebuildName(n));
  });

  it('the kernel takes the rebuild while an iptables rule references the set, and the element counters then count (real ipset and iptables, throw-away namespace)', async () => {
    const ns = `svp-ipsetrc-${process.pid}`;
    const inNs = (file: string, args: string[], input?: string) => systemExec.run({ file, args, netns: ns, ...(input ? { input } : {}) });
    await execa('ip', ['netns', 'add', ns]);
    try {
      await execa('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      await execa('ip', ['-n', ns, 'addr', 'add', '10.96.0.40/32', 'dev', 'lo']);
      // The older layout: the set without counters, referenced by the REJECT rule.
      assert.equal((await inNs('ipset', ['restore'], 'create SVP-NO-ENDPOINTS hash:ip,port family inet -exist\nadd SVP-NO-ENDPOINTS 10.96.0.40,udp:53\n')).exitCode, 0);
      assert.equal((await inNs('iptables', ['-w', '-A', 'INPUT', '-m', 'set', '--match-set', 'SVP-NO-ENDPOINTS', 'dst,dst', '-j', 'REJECT'])).exitCode, 0);
      const d = diffIpsets([{ ...NO_EP, entries: ['10.96.0.40,udp:53'] }], parseIpsetSave((await inNs('ipset', ['save'])).stdout));
      assert.ok(d.rebuild.length > 0);
      const r = await inNs('ipset', ['restore'], [...d.rebuild, ...d.adds].join('\n') + '\n');
      assert.equal(r.exitCode, 0, r.stderr);
      const saved = (await inNs('ipset', ['save'])).stdout;
      assert.match(saved, /^create SVP-NO-ENDPOINTS hash:ip,port family inet .*\bcounters\b/m, saved);
      assert.doesNotMatch(saved, /SVP-NO-ENDPOINTS-C/, 'the copy is gone');
      assert.deepEqual(diffIpsets([{ ...NO_EP, entries: ['10.96.0.40,udp:53'] }], parseIpsetSave(saved)), { rebuild: [], adds: [], dels: [] });
      // The rule now tests the rebuilt set: three refused datagrams show on its element.
      for (let i = 0; i < 3; i++) await inNs('python3', ['-c', 'import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("10.96.0.40", 53))']);
      const after = (await inNs('ipset', ['save', 'SVP-NO-ENDPOINTS'])).stdout;
      assert.match(after, /^add SVP-NO-ENDPOINTS 10\.96\.0\.40,udp:53 packets 3 bytes \d+$/m, after);
    } finally {
      await execa('ip', ['netns', 'delete', ns], { reject: false });
    }
  });
});

describe('ipvs preservePlan', () => {
  it('virtual servers of a preserved Service are on neither side of the diff', async () => {
    const { preservePlan } = await import('../../../src/backends/ipvs/apply.js');
    const before = renderIpvs(features['session-affinity']!).families.flatMap((f) => f.virtualServers);
    const live = parseIpvsadmSave(splitSections(ipvsBackend.render(features['session-affinity']!)).get(SECTION.ipvs)!);
    // Its slice became malformed: the input now has it without endpoints.
    const now = before.map((v) => ({ ...v, realServers: [] }));
    assert.ok(diffIpvs(now, live, all).length > 0, 'without preserving, its real servers would go');
    const p = preservePlan(now, live, ['default/sticky']);
    assert.deepEqual(diffIpvs(p.desired, p.live, all), []);
  });
});
