import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceCIDRToCIDRs } from '../../src/manifests/servicecidr.js';

const sc = (cidrs: unknown, apiVersion = 'networking.k8s.io/v1') => ({ apiVersion, kind: 'ServiceCIDR', metadata: { name: 'k' }, spec: { cidrs } });

test('ServiceCIDR v1 and v1beta1 give their CIDRs', () => {
  assert.deepEqual(serviceCIDRToCIDRs(sc(['10.96.0.0/12', 'fd00:10:96::/112'])), ['10.96.0.0/12', 'fd00:10:96::/112']);
  assert.deepEqual(serviceCIDRToCIDRs(sc(['10.96.0.0/12'], 'networking.k8s.io/v1beta1')), ['10.96.0.0/12']);
});

test('ServiceCIDR rules: canonical network addresses, at most one per family', () => {
  assert.throws(() => serviceCIDRToCIDRs(sc([]), 's#1'), /s#1: ServiceCIDR k: spec\.cidrs: is required/);
  assert.throws(() => serviceCIDRToCIDRs(sc(['10.96.0.1/12'])), /spec\.cidrs\[0\]: must be a network address with no host bits set \(10\.96\.0\.0\/12\)/);
  assert.throws(() => serviceCIDRToCIDRs(sc(['FD00::/112'])), /spec\.cidrs\[0\]: must be in canonical form \(fd00::\/112\)/);
  assert.throws(() => serviceCIDRToCIDRs(sc(['10.96.0.0/12', '10.112.0.0/12'])), /one CIDR of each family/);
  assert.throws(() => serviceCIDRToCIDRs(sc(['10.96.0.0/12', 'fd00::/112', '10.112.0.0/12'])), /at most 2 values/);
  assert.throws(() => serviceCIDRToCIDRs(sc(['x'])), /spec\.cidrs\[0\]: must be a valid CIDR/);
  assert.throws(() => serviceCIDRToCIDRs(sc(['10.96.0.0/12'], 'networking.k8s.io/v2')), /apiVersion: must be one of/);
});
