// A reader of the Prometheus text format, enough for tests to check what an agent
// exports: HELP, TYPE and the samples with their labels.

export interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface Family {
  help?: string;
  type?: string;
}

export interface Exposition {
  readonly families: Map<string, Family>;
  readonly samples: Sample[];
}

export function parseExposition(text: string): Exposition {
  const families = new Map<string, Family>();
  const samples: Sample[] = [];
  const family = (name: string) => families.get(name) ?? (families.set(name, {}), families.get(name)!);
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') family(meta[2]!).help = meta[3]!;
      else family(meta[2]!).type = meta[3]!;
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { families, samples };
}

/** The samples of `name` whose labels include `want`. */
export function samplesOf(e: Exposition, name: string, want: Record<string, string> = {}): Sample[] {
  return e.samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
}

/** The one value of `name` with labels `want` (exactly those), or undefined. */
export function valueOf(e: Exposition, name: string, want: Record<string, string> = {}): number | undefined {
  const keys = Object.keys(want).sort().join(',');
  const s = samplesOf(e, name, want).filter((x) => Object.keys(x.labels).sort().join(',') === keys);
  return s.length === 1 ? s[0]!.value : undefined;
}
