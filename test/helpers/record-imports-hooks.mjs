// The loader hooks of record-imports.mjs (they run on the loader's own thread).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  const file = process.env.SVCPLANE_RECORD_IMPORTS;
  if (file) appendFileSync(file, `${result.url}\n`);
  return result;
}
