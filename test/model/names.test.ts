import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  dns1035LabelError,
  dns1123LabelError,
  dns1123SubdomainError,
  ianaSvcNameError,
  labelValueError,
  qualifiedNameError,
} from '../../src/model/names.js';

test('DNS-1123 label: lowercase alnum and inner dashes, at most 63', () => {
  for (const ok of ['a', '0', 'my-ns', '123-abc', 'a'.repeat(63)]) assert.equal(dns1123LabelError(ok), undefined, ok);
  for (const bad of ['', '-a', 'a-', 'A', 'a_b', 'a.b', 'a'.repeat(64)]) assert.ok(dns1123LabelError(bad), bad);
  assert.match(dns1123LabelError('a'.repeat(64))!, /no more than 63/);
});

test('DNS-1035 label: must start with a letter', () => {
  assert.equal(dns1035LabelError('web-1'), undefined);
  assert.match(dns1035LabelError('1web')!, /DNS-1035/);
  assert.ok(dns1035LabelError('Web'));
  assert.ok(dns1035LabelError('web-'));
});

test('DNS-1123 subdomain: dotted labels, at most 253', () => {
  assert.equal(dns1123SubdomainError('db.example.com'), undefined);
  assert.ok(dns1123SubdomainError('db..example.com'));
  assert.ok(dns1123SubdomainError('.example.com'));
  assert.ok(dns1123SubdomainError('Example.com'));
  assert.match(dns1123SubdomainError(`${'a'.repeat(63)}.`.repeat(4) + 'b')!, /253/);
});

test('IANA_SVC_NAME: 15 chars, a letter, no double or edge dash', () => {
  for (const ok of ['http', 'web-8080', 'h2c', 'a'.repeat(15)]) assert.equal(ianaSvcNameError(ok), undefined, ok);
  assert.match(ianaSvcNameError('a'.repeat(16))!, /15/);
  assert.match(ianaSvcNameError('8080')!, /at least one letter/);
  assert.match(ianaSvcNameError('web--x')!, /consecutive/);
  assert.match(ianaSvcNameError('-web')!, /begin or end/);
  assert.match(ianaSvcNameError('Web')!, /lowercase/);
});

test('qualified names and label values', () => {
  for (const ok of ['app', 'app.kubernetes.io/name', 'My_Key.1', 'example.com/x']) assert.equal(qualifiedNameError(ok), undefined, ok);
  assert.match(qualifiedNameError('/x')!, /prefix part/);
  assert.match(qualifiedNameError('Example.com/x')!, /prefix part/);
  assert.match(qualifiedNameError('a/b/c')!, /qualified name/);
  assert.match(qualifiedNameError('example.com/')!, /name part must not be empty/);
  assert.match(qualifiedNameError('-x')!, /name part/);
  assert.match(qualifiedNameError('x'.repeat(64))!, /63/);
  assert.equal(labelValueError(''), undefined);
  assert.equal(labelValueError('v1.2_x-Y'), undefined);
  assert.ok(labelValueError('-v'));
  assert.ok(labelValueError('a b'));
  assert.ok(labelValueError('x'.repeat(64)));
});
