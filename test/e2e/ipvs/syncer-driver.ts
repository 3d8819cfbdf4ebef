// Runs in the IPVS VM (bundled, on the host's node): the agent's IPVS rules syncer
// (src/backends/ipvs/create-syncer.ts createIpvsSyncer, the one `svcplane agent --backend ipvs`
// builds) through a series of inputs in ONE process, so its memory carries from sync
// to sync as in the agent. Each argument is `name:manifests.json[:full]`. After each
// sync it prints, under `== name …` markers: the result, every command the syncer ran
// (with its stdin indented), `ipvsadm -Sn` and the dummy interface's addresses.
// Inputs load as the CLI loads them: malformed objects are skipped and their Services
// preserved, as the agent does.

import { createIpvsSyncer } from '../../../src/backends/ipvs/create-syncer.js';
import { withLocalAddresses } from '../../../src/backends/local-addresses.js';
import { FORWARDING, loadFromFlags } from '../../../src/cli/inputs.js';
import { commandLine, runChecked, type Exec } from '../../../src/exec/exec.js';
import { systemExec } from '../../../src/exec/system-exec.js';

const ran: string[] = [];
const recording: Exec = {
  run: (c) => {
    ran.push(commandLine(c), ...(c.input ?? '').split('\n').filter(Boolean).map((l) => `  ${l}`));
    return systemExec.run(c);
  },
};
const syncer = createIpvsSyncer({ exec: recording });
const out = (s: string) => process.stdout.write(s.endsWith('\n') ? s : s + '\n');

for (const arg of process.argv.slice(2)) {
  const [name, file, mode] = arg.split(':') as [string, string, string | undefined];
  const loaded = await loadFromFlags({ file: [file], nodeIp: [], mode: 'coexist' }, FORWARDING);
  const input = { ...loaded.input, node: await withLocalAddresses(loaded.input.node) };
  ran.length = 0;
  try {
    const r = await syncer.sync(input, { full: mode === 'full', changed: new Set(), preserve: loaded.skippedServices });
    out(`== ${name} result\n${JSON.stringify({ full: r.full, changes: r.changes, skipped: loaded.skippedServices })}`);
  } catch (e) {
    out(`== ${name} result\nerror: ${(e as Error).message}`);
  }
  out(`== ${name} commands\n${ran.join('\n')}`);
  out(`== ${name} ipvsadm\n${await runChecked(systemExec, { file: 'ipvsadm', args: ['-Sn'] })}`);
  const addr = await runChecked(systemExec, { file: 'ip', args: ['-o', 'addr', 'show', 'dev', 'svcplane-ipvs0', 'scope', 'global'] });
  out(`== ${name} addresses\n${addr.split('\n').flatMap((l) => /inet6? (\S+)/.exec(l)?.[1] ?? []).join('\n')}`);
}
out('== done');
