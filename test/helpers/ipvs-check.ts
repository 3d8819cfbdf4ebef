// Loads the ipset sections of an IPVS document for real and checks its iptables
// sections with `iptables-restore --test`, in a throw-away network namespace (the
// sets must exist for the rules to parse). ipvsadm needs an IPVS kernel: test/vm.

import { execa } from 'execa';
import { SECTION, splitSections } from '../../src/backends/ipvs/document.js';
import { systemExec } from '../../src/exec/system-exec.js';

let counter = 0;

export async function ipvsToolCheck(doc: string): Promise<string[]> {
  const ns = `svp-ipvschk-${process.pid}-${counter++}`;
  const sections = splitSections(doc);
  const problems: string[] = [];
  await execa('ip', ['netns', 'add', ns]);
  try {
    const steps: [string, string[]][] = [
      [SECTION.ipset4, ['ipset', 'restore']],
      [SECTION.ipset6, ['ipset', 'restore']],
      [SECTION.iptables4, ['iptables-restore', '--test', '--noflush']],
      [SECTION.iptables6, ['ip6tables-restore', '--test', '--noflush']],
    ];
    for (const [section, argv] of steps) {
      const text = sections.get(section);
      if (text === undefined) {
        problems.push(`missing section ${section}`);
        continue;
      }
      const r = await systemExec.run({ file: argv[0]!, args: argv.slice(1), netns: ns, input: text });
      if (r.exitCode !== 0) problems.push(`${argv.join(' ')}: ${r.stderr.trim()}`);
    }
  } finally {
    await execa('ip', ['netns', 'delete', ns], { reject: false });
  }
  return problems;
}
