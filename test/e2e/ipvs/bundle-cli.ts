// The CLI as one ESM bundle for the IPVS VM tests: under TCG, tsx plus loading ~1000
// module files took ~55 s per invocation, the bundle of the same sources a few
// seconds (see ipvs-apply-vm.test.ts). Same code, same code paths.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** src/cli/main.ts (or `entry`, relative to the repository) and everything it imports, as one ESM file for node 20. */
export async function bundleCli(entry = 'src/cli/main.ts'): Promise<string> {
  const { build } = await import('esbuild');
  const r = await build({
    entryPoints: [join(REPO, entry)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    // Some dependencies are CommonJS and call require() on node builtins.
    banner: { js: "import { createRequire as __svcplaneRequire } from 'node:module'; const require = __svcplaneRequire(import.meta.url);" },
  });
  return r.outputFiles[0]!.text;
}
