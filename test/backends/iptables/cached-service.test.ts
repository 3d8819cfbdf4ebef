import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CachedService } from '../../../src/backends/iptables/cached-service.js';
import type { IptFragment } from '../../../src/backends/iptables/fragments.js';
import { serviceInputDigest } from '../../../src/backends/iptables/service-input.js';
import type { EndpointSliceInfo } from '../../../src/model/endpoints.js';
import type { PlanService } from '../../../src/model/plan.js';

const EMPTY: IptFragment = { filter: [], nat: [] };
const svc = (port: number) => ({ namespace: 'default', name: 'a', ports: [{ port }] }) as unknown as PlanService;
const slice = (ip: string) => ({ namespace: 'default', serviceName: 'a', endpoints: [{ addresses: [ip] }] }) as unknown as EndpointSliceInfo;

describe('iptables cached Service: the input digest held as integers', () => {
  it('is rendered from the very input it was made with, digested again', () => {
    const cached = new CachedService(EMPTY, EMPTY, serviceInputDigest(svc(80), [slice('10.0.0.1')]));
    assert.ok(cached.renderedFrom(serviceInputDigest(svc(80), [slice('10.0.0.1')])));
  });

  it('is not rendered from a changed Service, a changed or added slice, or no slice', () => {
    const cached = new CachedService(EMPTY, EMPTY, serviceInputDigest(svc(80), [slice('10.0.0.1')]));
    assert.equal(cached.renderedFrom(serviceInputDigest(svc(81), [slice('10.0.0.1')])), false);
    assert.equal(cached.renderedFrom(serviceInputDigest(svc(80), [slice('10.0.0.2')])), false);
    assert.equal(cached.renderedFrom(serviceInputDigest(svc(80), [slice('10.0.0.1'), slice('10.0.0.2')])), false);
    assert.equal(cached.renderedFrom(serviceInputDigest(svc(80), [])), false);
  });

  it('compares all of the 96 bits it keeps: a digest differing in any one byte of them is another', () => {
    const digest = serviceInputDigest(svc(80), []);
    const cached = new CachedService(EMPTY, EMPTY, digest);
    for (let i = 0; i < 12; i++) {
      const other = Buffer.from(digest);
      other[i]! ^= 0x80;
      assert.equal(cached.renderedFrom(other), false, `byte ${i}`);
    }
    // Bytes past the 96 bits are not kept.
    const tail = Buffer.from(digest);
    tail[19]! ^= 1;
    assert.ok(cached.renderedFrom(tail));
  });

  it('holds its fragments as given', () => {
    const v4: IptFragment = { filter: [], nat: [{ name: 'SVP-SERVICES', rules: ['-A SVP-SERVICES -j ACCEPT'] }] };
    const cached = new CachedService(v4, EMPTY, serviceInputDigest(svc(80), []));
    assert.equal(cached.IPv4, v4);
    assert.equal(cached.IPv6, EMPTY);
  });
});
