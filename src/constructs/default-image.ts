// The image NodeAgent runs when none is given: the one this repository builds
// (`npm run image`, scripts/image.sh), svcplane:<package version>. Read from the
// package.json beside lib/ and src/, so it can never disagree with the version the
// image is tagged with.

import { readFileSync } from 'node:fs';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { name: string; version: string };

/** `svcplane:<version>`, e.g. `svcplane:0.1.0`. */
export const DEFAULT_AGENT_IMAGE = `${packageJson.name}:${packageJson.version}`;
