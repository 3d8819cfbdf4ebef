// The node of a render that names none, apart from node.ts's schema so that the
// render path does not load zod for it. node.ts re-exports it.

import type { NodeContext } from './node.js';

/** A node with no name and no addresses: renders Service rules that need no node facts. */
export const UNKNOWN_NODE: NodeContext = { name: '', addresses: [], podCIDRs: [] };
