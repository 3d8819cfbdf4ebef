// `svcplane diff` hands a backend two committed rulesets (src/review/rulesets.ts).
// A side that does not parse is bad input naming that side, so each is parsed here.

import type { RulesetSide } from './backend.js';

/** A committed ruleset that does not parse; `side` is the label of the tree it came from. */
export class RulesetParseError extends Error {
  constructor(
    readonly side: string,
    message: string,
  ) {
    super(message);
  }
}

export function parseSide<T>(side: RulesetSide, parse: (text: string) => T): T {
  try {
    return parse(side.text);
  } catch (e) {
    throw new RulesetParseError(side.label, (e as Error).message);
  }
}
