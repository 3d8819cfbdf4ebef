import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scanJsonList } from '../../src/manifests/json-list.js';
import { flattenList, parseManifestText, type ManifestDocument } from '../../src/manifests/read.js';

/** The documents of `text` as the whole-text path makes them: JSON.parse, then flattenList. */
function wholeParse(text: string, file: string): ManifestDocument[] {
  return flattenList({ object: JSON.parse(text), file, document: 1, source: `${file}#1` });
}

const LISTS = [
  '{"apiVersion":"v1","kind":"List","items":[{"kind":"Service","metadata":{"name":"a"}},{"kind":"EndpointSlice"}]}',
  // Typed list, items before kind, whitespace everywhere, strings with brackets, quotes and escapes.
  ' \n{ "items" : [ { "metadata" : { "name" : "x]}\\"{[" , "n": [1, 2.5e3, -0, true, false, null] } } ,\t{ } ] ,\r\n "kind":"ServiceList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"} }\n',
  // A List inside a List, a null item, a string item, an empty typed list.
  '{"kind":"List","items":[{"kind":"List","items":[{"kind":"A"},{"kind":"B"}]},null,"s",7,{"kind":"ServiceList","items":[]}]}',
  '{"kind":"List","items":[]}',
  '{"kind":"List","items":[{"a":"\\\\"},{"b":"\\\\\\"x"}]}',
];

test('a JSON List read item by item gives the documents of JSON.parse of the whole text', () => {
  for (const text of LISTS) {
    assert.ok(scanJsonList(text), text);
    assert.deepEqual(parseManifestText(text, 'l.json', 'json'), wholeParse(text, 'l.json'), text);
  }
});

test('each document is handed to `each` in order, and what it returns is kept', () => {
  const seen: string[] = [];
  const docs = parseManifestText(LISTS[2]!, 'l.json', 'json', (d) => {
    seen.push(d.source);
    return { ...d, object: 'replaced' };
  });
  assert.deepEqual(seen, ['l.json#1.items[0].items[0]', 'l.json#1.items[0].items[1]', 'l.json#1.items[1]', 'l.json#1.items[2]', 'l.json#1.items[3]']);
  assert.deepEqual(docs.map((d) => d.object), ['replaced', 'replaced', 'replaced', 'replaced', 'replaced']);
});

test('anything but a well-formed List is left to JSON.parse of the whole text', () => {
  const notLists = [
    '{"kind":"Service","items":[]}',
    '{"kind":"List","items":{}}',
    '{"kind":"List"}',
    '{"kind":"List","items":[],"kind":"List"}',
    '{"__proto__":{"kind":"List"},"kind":"List","items":[]}',
    '[{"kind":"List","items":[]}]',
    '{}',
    '\ufeff{"kind":"List","items":[]}',
  ];
  for (const text of notLists) assert.equal(scanJsonList(text), undefined, text);
  // Same documents as before for the valid ones among them.
  for (const text of ['{"kind":"Service","items":[]}', '{"kind":"List","items":[],"kind":"ServiceList"}']) {
    assert.deepEqual(parseManifestText(text, 'x.json', 'json'), wholeParse(text, 'x.json'));
  }
});

test('malformed JSON in a List is refused with JSON.parse\'s own message for the whole text', () => {
  const bad = [
    '{"kind":"List","items":[{"a":1},{"a":]}',
    '{"kind":"List","items":[{"a":1} {"a":2}]}',
    '{"kind":"List","items":[{"a":1},]}',
    '{"kind":"List","items":[{"a":1]}]}',
    '{"kind":"List","items":[{"a":1}]} x',
    '{"kind":"List","items":[{"a":"unterminated}]}',
    '{"kind":"List" "items":[]}',
    '{"kind":Lis,"items":[]}',
  ];
  for (const text of bad) {
    let expected = '';
    try {
      JSON.parse(text);
    } catch (e) {
      expected = `not valid JSON: ${(e as Error).message}`;
    }
    assert.notEqual(expected, '', text);
    assert.throws(() => parseManifestText(text, 'b.json', 'json'), (e: Error & { issues?: Array<{ message: string }> }) => e.issues?.[0]?.message === expected, text);
  }
});
