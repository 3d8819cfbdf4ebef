// The hand-written IPv4 parser (src/model/ip.ts) against the API server's rules: four
// decimal octets 0-255 without leading zeros, nothing else; and canonical spellings.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalIP, compareIPs, formatIP, parseCIDR, parseIP, parseV4Number } from '../../src/model/ip.js';
import { specialIPError, specialIPv4Error } from '../../src/model/validate-service.js';

describe('IPv4 parsing', () => {
  it('accepts dotted quads and gives their value', () => {
    assert.deepEqual(parseIP('10.96.0.1'), { family: 'IPv4', value: 0x0a600001n });
    assert.deepEqual(parseIP('0.0.0.0'), { family: 'IPv4', value: 0n });
    assert.deepEqual(parseIP('255.255.255.255'), { family: 'IPv4', value: 0xffffffffn });
  });

  it('refuses what the API server refuses', () => {
    for (const s of ['', '1', '1.2.3', '1.2.3.4.5', '1.2.3.', '.1.2.3', '1..2.3', '256.0.0.1', '1.2.3.2555', '010.0.0.1', '1.2.3.00', '1.2.3.4 ', ' 1.2.3.4', '1.2.3.a', '1.2.3.-4', '+1.2.3.4', '1.2.3.4/32', '１.2.3.4']) {
      assert.equal(parseIP(s), undefined, JSON.stringify(s));
      assert.equal(canonicalIP(s), undefined, JSON.stringify(s));
    }
  });

  it('a valid IPv4 is its own canonical form; IPv6 is re-spelled (RFC 5952)', () => {
    assert.equal(canonicalIP('192.168.0.10'), '192.168.0.10');
    assert.equal(canonicalIP('0.0.0.0'), '0.0.0.0');
    assert.equal(canonicalIP('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
    assert.equal(canonicalIP('::ffff:10.0.0.1'), '::ffff:a00:1');
    assert.equal(formatIP('IPv4', 0xc0a8000an), '192.168.0.10');
  });

  it('CIDRs and ordering use the same parser', () => {
    assert.deepEqual(parseCIDR('10.96.1.2/12'), { family: 'IPv4', network: 0x0a600000n, prefix: 12 });
    assert.equal(parseCIDR('10.96.01.0/24'), undefined);
    assert.deepEqual(['10.0.0.10', '10.0.0.9', '::1', '9.255.255.255'].sort(compareIPs), ['9.255.255.255', '10.0.0.9', '10.0.0.10', '::1']);
  });
});

describe('specialIPError', () => {
  const err = (s: string) => specialIPError(parseIP(s)!);
  it('names the range of each special address, both families', () => {
    assert.match(err('0.0.0.0')!, /unspecified/);
    assert.match(err('::')!, /unspecified/);
    assert.match(err('127.1.2.3')!, /loopback/);
    assert.match(err('::1')!, /loopback/);
    assert.match(err('169.254.9.9')!, /link-local range/);
    assert.match(err('fe80::1')!, /link-local range/);
    assert.match(err('224.0.0.251')!, /link-local multicast/);
    assert.match(err('ff02::fb')!, /link-local multicast/);
  });
  it('passes ordinary addresses, including the neighbours of those ranges', () => {
    for (const s of ['10.244.0.1', '128.0.0.1', '126.255.255.255', '169.255.0.1', '224.0.1.1', 'fec0::1', '2001:db8::1']) assert.equal(err(s), undefined, s);
  });
});

describe('specialIPv4Error (the endpoint readers\' path without BigInts)', () => {
  it('says what specialIPError says of every IPv4 address at and around each range', () => {
    const edges = ['0.0.0.0', '0.0.0.1', '0.255.255.255', '1.0.0.0', '10.244.0.1', '126.255.255.255', '127.0.0.0', '127.255.255.255', '128.0.0.0',
      '169.253.255.255', '169.254.0.0', '169.254.255.255', '169.255.0.0', '223.255.255.255', '224.0.0.0', '224.0.0.255', '224.0.1.0', '255.255.255.255'];
    // And a spread over the whole space (a fixed stride, so the test is the same every run).
    for (let v = 0; v < 2 ** 32; v += 16_777_259) edges.push(formatIP('IPv4', BigInt(v)));
    for (const s of edges) assert.equal(specialIPv4Error(parseV4Number(s)!), specialIPError(parseIP(s)!), s);
  });
});
