import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentLength } from '../src/content-length.js';

// The lean path's content-length check, hand-written, against the regular expression and Number() it
// replaces: the same headers are taken, with the same length; every other is NaN (Fastify's to refuse).
const DIGITS = /^\d{1,12}$/;
const before = (value: string) => (DIGITS.test(value) ? Number(value) : Number.NaN);

const header = fc.oneof(
  fc.stringMatching(/^\d{0,14}$/),
  fc.string({ unit: fc.constantFrom(...'0123456789 +-.,eExX\t\n\u0660\uff10'.split('')), maxLength: 14 }),
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 14 }),
  fc.constantFrom(
    '',
    '0',
    '00',
    '999999999999',
    '1000000000000',
    '1e3',
    '0x10',
    ' 1',
    '1 ',
    '+1',
    '-1',
    '1.0',
    '12\n',
  ),
);

describe('contentLength', () => {
  it('takes exactly what /^\\d{1,12}$/ takes, as Number() reads it', () => {
    fc.assert(
      fc.property(header, (value) => {
        expect(contentLength(value)).toBe(before(value));
      }),
      { numRuns: 20_000 },
    );
  });
});
