// A 53-bit hash of a string, as a plain number (exact in a double). The streamed read-back
// (streamed-diff.ts) keeps one per desired element of the set being listed instead of the
// element's text: two independent 32-bit multiply-xor mixes over the UTF-16 code units,
// 32 bits of one and 21 of the other. Not cryptographic; what it must do is make two
// different elements' texts meet with odds of ~2^-53. `seed` changes which texts meet:
// a read-back draws one of its own, so a coincidence is not met again at the next one.

const TWO_TO_21 = 0x200000;

export function hash53(s: string, seed = 0): number {
  let a = 0x811c9dc5 ^ seed;
  let b = 0x2f6b1e3d ^ Math.imul(seed, 0x9e3779b1);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  // Final avalanche of each, so the last characters move every bit.
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  a = Math.imul(a, 0xc2b2ae35);
  a ^= a >>> 16;
  b ^= b >>> 16;
  b = Math.imul(b, 0x7feb352d);
  b ^= b >>> 15;
  b = Math.imul(b, 0x846ca68b);
  b ^= b >>> 16;
  return (a >>> 0) * TWO_TO_21 + (b >>> 11);
}
