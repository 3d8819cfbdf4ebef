// render-text.ts writes the document one Service port at a time; it must give the
// same bytes as rendering every table first and serialising them (render.ts +
// document.ts), which the goldens and the kernel tests pin down. Checked on every
// feature fixture, on input with affinity (fragment sets), on an empty input, and on
// a mixed input large enough to spread Services over every shard table.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeTables } from '../../../src/backends/nftables/document.js';
import { renderDocumentText } from '../../../src/backends/nftables/render-text.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { features } from '../../helpers/features.js';
import { input } from '../../helpers/model.js';
import { syntheticInput } from '../../../bench/synthetic.js';

const twoPass = (inp: RenderInput) => serializeTables(renderTables(inp));

describe('nftables render, one Service port at a time', () => {
  it('equals the two-pass render on an input without Services', () => {
    assert.equal(renderDocumentText(input([])), twoPass(input([])));
  });

  for (const [name, inp] of Object.entries(features)) {
    it(`equals the two-pass render for ${name}`, () => {
      assert.equal(renderDocumentText(inp), twoPass(inp));
    });
  }

  it('equals the two-pass render with Services in every shard (300 Services x 3 endpoints)', () => {
    const inp = syntheticInput(300, new Map(), 3);
    const doc = renderDocumentText(inp);
    assert.equal(doc, twoPass(inp));
    for (let i = 0; i < 16; i++) assert.ok(doc.includes(`"table":"svcplane-${i.toString(16).padStart(2, '0')}"`), `shard ${i} holds a Service`);
  });
});
