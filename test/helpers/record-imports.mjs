// `node --import ./record-imports.mjs ...`: appends every module URL the process
// resolves to the file named by SVCPLANE_RECORD_IMPORTS, one per line. Lets a test
// assert which packages a command loads, without timing anything.
import { register } from 'node:module';

register(new URL('./record-imports-hooks.mjs', import.meta.url));
