// Node facts read at the I/O edge, and what they change in the rules: kube-proxy's
// iptables mode installs the INVALID drop only when nf_conntrack_tcp_be_liberal is unset;
// nftables mode never renders one.

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { iptablesBackend } from '../../src/backends/iptables/index.js';
import { nftablesBackend } from '../../src/backends/nftables/index.js';
import { readConntrackTCPBeLiberal } from '../../src/backends/node-facts.js';
import { input, NODE1, port, svc } from '../helpers/model.js';

const INVALID_DROP = '-A SVP-FORWARD -m conntrack --ctstate INVALID -j DROP';
const services = [svc({ name: 'web', clusterIPs: ['10.96.0.10'], ports: [port(80)] })];
const render = (backend: { render: (i: ReturnType<typeof input>) => string }, conntrackTCPBeLiberal?: boolean) =>
  backend.render(input(services, [], { node: { ...NODE1, ...(conntrackTCPBeLiberal === undefined ? {} : { conntrackTCPBeLiberal }) } }));

describe('node facts: nf_conntrack_tcp_be_liberal', () => {
  it('iptables: the INVALID drop is rendered when the fact is unknown or unset, in both families', () => {
    for (const doc of [render(iptablesBackend), render(iptablesBackend, false)]) {
      assert.equal(doc.split('\n').filter((l) => l === INVALID_DROP).length, 2, doc);
    }
  });

  it('iptables: no INVALID drop when the node is TCP-liberal; nothing else changes', () => {
    const strict = render(iptablesBackend, false).split('\n');
    const liberal = render(iptablesBackend, true).split('\n');
    assert.ok(!liberal.some((l) => l.includes('INVALID')), 'no INVALID rule left');
    assert.deepEqual(liberal, strict.filter((l) => l !== INVALID_DROP));
  });

  it('nftables: never renders an invalid-state drop, whatever the fact', () => {
    const strict = render(nftablesBackend, false);
    assert.doesNotMatch(strict, /invalid/i);
    assert.equal(render(nftablesBackend, true), strict);
  });

  it('reads the sysctl file: non-zero is liberal; 0, garbage and a missing file are not', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svp-facts-'));
    try {
      const file = join(dir, 'nf_conntrack_tcp_be_liberal');
      const cases: [string, boolean][] = [['1\n', true], ['2\n', true], ['0\n', false], ['x\n', false]];
      for (const [text, want] of cases) {
        await writeFile(file, text);
        assert.equal(await readConntrackTCPBeLiberal(file), want, JSON.stringify(text));
      }
      assert.equal(await readConntrackTCPBeLiberal(join(dir, 'missing')), false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
