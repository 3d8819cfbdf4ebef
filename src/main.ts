// What `npm run synth` runs (cdk8s.yaml: `node lib/main.js`): the example app,
// written to dist/ as manifests, with dist/rules/ holding the plan and the
// precompiled rulesets beside them. A construct problem is printed one a line,
// without a stack, and the process exits 2.

import { buildExampleApp } from './example-app.js';

buildExampleApp().synthOrExit();
