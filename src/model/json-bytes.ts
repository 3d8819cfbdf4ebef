// The bytes of JSON's structure, for the scanners that walk JSON text as it streams in
// (the agent's plan read, nftables' listings) without parsing it whole. One definition.

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_BRACE = 0x7b;
export const CLOSE_BRACE = 0x7d;
export const OPEN_BRACKET = 0x5b;
export const CLOSE_BRACKET = 0x5d;
export const COMMA = 0x2c;
