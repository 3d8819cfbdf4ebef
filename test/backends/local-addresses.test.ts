// The node's local addresses, read in process: what NodePorts may be served on.

import assert from 'node:assert/strict';
import { execa } from 'execa';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { serviceableAddresses } from '../../src/backends/local-addresses.js';

const MODULE = fileURLToPath(new URL('../../src/backends/local-addresses.ts', import.meta.url));

describe('local addresses', () => {
  it('keeps global addresses, canonical and sorted; drops loopback and link-local', () => {
    assert.deepEqual(
      serviceableAddresses(['127.0.0.1', '::1', 'fe80::1%eth0', '169.254.3.4', '10.0.0.2', 'FD00::0001', '192.0.2.5', '10.0.0.2']),
      ['10.0.0.2', '192.0.2.5', 'fd00::1'],
    );
  });

  describe('in a network namespace', () => {
    const ns = `svp-la-${process.pid}`;
    before(async () => {
      await execa('ip', ['netns', 'add', ns]);
      const ip = (...a: string[]) => execa('ip', ['netns', 'exec', ns, 'ip', ...a]);
      await ip('link', 'set', 'lo', 'up');
      await ip('link', 'add', 'dum0', 'type', 'veth', 'peer', 'name', 'dum1');
      await ip('link', 'set', 'dum0', 'up');
      await ip('link', 'set', 'dum1', 'up');
      await ip('addr', 'add', '10.9.0.1/24', 'dev', 'dum0');
      await ip('addr', 'add', '10.9.0.2/24', 'dev', 'dum0');
      await ip('-6', 'addr', 'add', 'fd00:9::1/64', 'dev', 'dum0', 'nodad');
      // A VIP bound on lo with global scope serves NodePorts; 127.0.0.1 does not.
      await ip('addr', 'add', '192.0.2.5/32', 'dev', 'lo');
    });
    after(async () => {
      await execa('ip', ['netns', 'delete', ns], { reject: false });
    });

    it('reads what `ip addr` shows with global scope, from inside the namespace', async () => {
      const code = `import(${JSON.stringify(MODULE)}).then(async (m) => console.log(JSON.stringify(await m.readLocalAddresses())))`;
      const r = await execa('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '-e', code]);
      const got = JSON.parse(r.stdout) as string[];
      const shown = JSON.parse((await execa('ip', ['netns', 'exec', ns, 'ip', '-j', 'addr', 'show'])).stdout) as { addr_info: { local: string; scope: string }[] }[];
      const global = shown.flatMap((l) => l.addr_info.filter((a) => a.scope === 'global').map((a) => a.local));
      assert.deepEqual(got, serviceableAddresses(global));
      assert.deepEqual(got, ['10.9.0.1', '10.9.0.2', '192.0.2.5', 'fd00:9::1']);
    });
  });
});
