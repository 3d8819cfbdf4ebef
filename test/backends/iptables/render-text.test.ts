// render-text.ts writes the iptables document one Service port at a time; it must give
// the same bytes as rendering every chain first and serialising them (render.ts +
// document.ts), which the goldens and the kernel round-trip tests pin down. Checked on
// every feature fixture, on an empty input, and on a synthetic input large enough that
// the shared chains and the ports' own chains are each joined in several pieces.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serializeIptables } from '../../../src/backends/iptables/document.js';
import { iptablesBackend } from '../../../src/backends/iptables/index.js';
import { renderIptables } from '../../../src/backends/iptables/render.js';
import { renderIptablesText } from '../../../src/backends/iptables/render-text.js';
import type { RenderInput } from '../../../src/model/render-input.js';
import { features } from '../../helpers/features.js';
import { input } from '../../helpers/model.js';
import { syntheticInput } from '../../../bench/synthetic.js';

const twoPass = (inp: RenderInput) => serializeIptables(renderIptables(inp));

describe('iptables render, one Service port at a time', () => {
  it('is what the backend renders', () => {
    assert.equal(iptablesBackend.render, renderIptablesText);
  });

  it('equals the two-pass render on an input without Services', () => {
    assert.equal(renderIptablesText(input([])), twoPass(input([])));
  });

  for (const [name, inp] of Object.entries(features)) {
    it(`equals the two-pass render for ${name}`, () => {
      assert.equal(renderIptablesText(inp), twoPass(inp));
    });
  }

  it('equals the two-pass render at 3000 Services x 3 endpoints (chains joined in several pieces)', () => {
    const inp = syntheticInput(3000, new Map([[7, 2]]), 3);
    const doc = renderIptablesText(inp);
    // SVP-SERVICES alone (3000 rules) and the Services' own chains each pass 2^18 characters.
    assert.ok(doc.length > 4 * 2 ** 18, `document of ${doc.length} characters`);
    assert.equal(doc, twoPass(inp));
  });
});
