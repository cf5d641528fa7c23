import fc from 'fast-check';

/** Literal levels used by generated filters and topics: empty levels and `$` prefixes included. */
export const LITERALS = ['a', 'b', '', '$s'] as const;
/** Universe for the reference: the literals plus one level no filter mentions, depth one past the filters'. */
export const UNIVERSE_ALPHABET = [...LITERALS, 'z'];
export const MAX_DEPTH = 4;

const literal = fc.constantFrom(...LITERALS);

export const topicArb = fc
  .array(literal, { minLength: 1, maxLength: MAX_DEPTH + 1 })
  .map((levels) => levels.join('/'))
  .filter((t) => t.length > 0);

export const filterArb = fc
  .tuple(fc.array(fc.oneof(literal, fc.constant('+')), { minLength: 0, maxLength: MAX_DEPTH }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels))
  .filter((levels) => levels.length > 0)
  .map((levels) => levels.join('/'))
  .filter((f) => f.length > 0);
