// VM scripts print "== name" markers; this splits their output back into sections.

/** "== name" markers -> the lines up to the next marker. */
export function sections(output: string): Map<string, string> {
  const out = new Map<string, string[]>();
  let cur: string[] | undefined;
  for (const line of output.split('\n')) {
    const m = /^== (.+)$/.exec(line);
    if (m) out.set(m[1]!, (cur = []));
    else cur?.push(line);
  }
  return new Map([...out].map(([k, v]) => [k, v.join('\n')]));
}
