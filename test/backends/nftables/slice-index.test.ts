// SliceIndex: a full sync renders each Service from its slices as slicesByService gives
// them (the same slices, in the same order), without that map's keys and arrays.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SliceIndex } from '../../../src/backends/nftables/slice-index.js';
import { slicesByService } from '../../../src/model/service-ports.js';
import { ep, slice } from '../../helpers/model.js';

describe('SliceIndex', () => {
  it("gives each Service the slices slicesByService does, in order; none for a Service without any", () => {
    const p = [{ port: 80 }];
    const slices = [
      slice('web', [ep('10.244.1.1')], p, { name: 'web-1' }),
      slice('db', [ep('10.244.1.2')], p),
      slice('web', [ep('10.244.1.3')], p, { name: 'web-2' }),
      slice('web', [ep('10.244.1.4')], p, { namespace: 'other', name: 'web-x' }),
      slice('web', [ep('10.244.1.5')], p, { name: 'web-3' }),
    ];
    const index = new SliceIndex(slices);
    const byKey = slicesByService(slices);
    for (const [ns, name] of [['default', 'web'], ['default', 'db'], ['other', 'web'], ['default', 'none'], ['nowhere', 'web']] as const) {
      assert.deepEqual(index.of(ns, name), byKey.get(`${ns}/${name}`) ?? [], `${ns}/${name}`);
    }
    assert.deepEqual(index.of('default', 'web').map((s) => s.name), ['web-1', 'web-2', 'web-3']);
  });
});
