// listing-stream.ts: nft's one-line JSON listing read in pieces cut anywhere must give the
// very items and elements JSON.parse gives of the whole text, none of it held whole.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NftListingStream } from '../../../src/backends/nftables/listing-stream.js';
import { NftDocumentError } from '../../../src/backends/nftables/read.js';
import { renderTables } from '../../../src/backends/nftables/render.js';
import { features } from '../../helpers/features.js';
import { nftListing } from './nft-listing.js';

/** The items as the stream hands them on, each set or map with its elements put back. */
function streamed(text: string, pieceChars: number): unknown[] {
  const items: unknown[] = [];
  let elements: { owner: string; raw: unknown }[] = [];
  const reader = new NftListingStream({
    element: (owner, raw) => elements.push({ owner: `${owner.kind} ${owner.name}`, raw }),
    object: (item) => {
      const [[kind, body]] = Object.entries(item);
      if (kind === 'set' || kind === 'map') {
        assert.deepEqual(body!.elem ?? [], [], 'a set is handed on without its elements');
        assert.ok(elements.every((e) => e.owner === `${kind} ${String(body!.name)}`), 'elements name their set');
        if (elements.length) item = { [kind]: { ...body, elem: elements.map((e) => e.raw) } };
        else if (body!.elem) item = { [kind]: { ...body, elem: [] } };
        elements = [];
      }
      items.push(item);
    },
  });
  for (let at = 0; at < text.length; at += pieceChars) reader.push(text.slice(at, at + pieceChars));
  reader.end();
  assert.equal(elements.length, 0, 'no element left without its set');
  return items;
}

describe('NftListingStream', () => {
  for (const [name, inp] of Object.entries(features)) {
    it(`${name}: pieces of 1, 2, 7, 97 and 4096 characters read as JSON.parse reads the whole`, () => {
      const text = nftListing(renderTables(inp));
      const whole = (JSON.parse(text) as { nftables: unknown[] }).nftables;
      for (const n of [1, 2, 7, 97, 4096]) assert.deepEqual(streamed(text, n), whole, `pieces of ${n}`);
    });
  }

  it('elements of every shape: bare strings and numbers, concatenations, comments with quotes and brackets, map pairs; nft spacing', () => {
    const text = JSON.stringify({
      nftables: [
        { table: { family: 'ip', name: 't', handle: 1 } },
        { set: { family: 'ip', name: 'ports', table: 't', type: 'inet_service', handle: 2, elem: [80, 443, -1, 8080] } },
        { set: { family: 'ip', name: 'odd', table: 't', type: 'ipv4_addr', handle: 3, elem: [{ elem: { val: '10.0.0.1', comment: 'a "quoted" ] } [ {name,' } }, '10.0.0.2'], stmt: [{ counter: null }] } },
        { map: { family: 'ip', name: 'vm', table: 't', type: ['ipv4_addr', 'inet_proto', 'inet_service'], handle: 4, map: 'verdict', elem: [[{ concat: ['10.0.0.1', 'tcp', 80] }, { goto: { target: 'svc-a\\b' } }]] } },
        { set: { family: 'ip', name: 'empty', table: 't', type: 'ipv4_addr', handle: 5 } },
        { chain: { family: 'ip', table: 't', name: 'c', handle: 6 } },
        { rule: { family: 'ip', table: 't', chain: 'c', handle: 7, expr: [{ match: { op: '==', left: { payload: { protocol: 'ip', field: 'daddr' } }, right: '@odd' } }, { accept: null }], comment: 'elem: [' } },
      ],
    }).replace(/([,:])/g, '$1 '); // nft writes ", " and ": " (harmless inside these strings: compared through JSON.parse)
    const whole = (JSON.parse(text) as { nftables: unknown[] }).nftables;
    for (const n of [1, 3, 5, 64]) assert.deepEqual(streamed(text, n), whole, `pieces of ${n}`);
  });

  it('a listing cut short, or not JSON, is refused as a document error', () => {
    const text = nftListing(renderTables(Object.values(features)[0]!));
    const cut = new NftListingStream({ object: () => undefined, element: () => undefined });
    cut.push(text.slice(0, Math.floor(text.length / 2)));
    assert.throws(() => cut.end(), NftDocumentError);
    const broken = new NftListingStream({ object: () => undefined, element: () => undefined });
    assert.throws(() => broken.push('{"nftables": [{"table": {"family": ip}}]}'), NftDocumentError);
  });
});
