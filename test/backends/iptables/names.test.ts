// Chain names: `PREFIX` + base32 (RFC 4648, no padding) of the first 80 bits of
// sha256(identity), computed here the long way (Buffer bits) against names.ts's compact
// one; and the endpoint-name cache, which keeps one record per (port key, address) and
// must still tell the target ports apart.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { endpointChain, hashedChainName, MAX_CHAIN_NAME, type PortIdentity } from '../../../src/backends/iptables/names.js';

function base32(bytes: Buffer): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const b of bytes) bits += b.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i + 5 <= bits.length; i += 5) out += alphabet[parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

const expected = (prefix: string, identity: string) =>
  (prefix + base32(createHash('sha256').update(identity).digest().subarray(0, 10))).slice(0, MAX_CHAIN_NAME);

describe('iptables chain names', () => {
  it('are the prefix and 16 base32 characters of the identity hash, cut at 28', () => {
    for (const [prefix, identity] of [
      ['SVP-SVC-', '["default","web","http",0,"TCP"]'],
      ['SVP-SEP-', 'x'],
      ['SVP-A-LONGER-PREFIX-', 'y'],
      ['', ''],
    ] as const) {
      assert.equal(hashedChainName(prefix, identity), expected(prefix, identity), `${prefix} ${identity}`);
    }
  });

  it('name each target port of one endpoint address apart, the same each time', () => {
    const v: PortIdentity = { namespace: 'ns', name: 'svc', portName: 'p', port: 80, protocol: 'TCP' };
    const key = JSON.stringify(['ns', 'svc', 'p', 0, 'TCP']);
    const ports = [8080, 8081, 9000];
    const first = ports.map((p) => endpointChain(v, '10.0.0.1', p));
    assert.deepEqual(first, ports.map((p) => expected('SVP-SEP-', `${key}${JSON.stringify(['10.0.0.1', p])}`)));
    assert.equal(new Set(first).size, 3);
    // Asked again, in another order, beside another address: the cached names.
    assert.equal(endpointChain(v, '10.0.0.2', 8080), expected('SVP-SEP-', `${key}${JSON.stringify(['10.0.0.2', 8080])}`));
    assert.deepEqual([...ports].reverse().map((p) => endpointChain(v, '10.0.0.1', p)), [...first].reverse());
  });
});
