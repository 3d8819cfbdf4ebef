// What `npm run synth` runs (cdk8s.yaml: `node lib/main.js`): the example app,
// written to dist/ as manifests, with dist/rules/ holding the plan and the
// precompiled rulesets beside them.

import { buildExampleApp } from './example-app.js';

buildExampleApp().synth();
