import { TopicIndex } from '@mqtt-warden/topic';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { levelHash, ShapeIndex, TopicLevels } from '../src/shape-index.js';

// The shape index answers "which filters match this topic name?" for the policy's hot path. It must give
// exactly what the topic trie gives (same values, same order: the rule a decision names depends on it).
const LEVELS = ['a', 'b', '', '$s', 'long-level-name-1'];
const nameLevel = fc.constantFrom(...LEVELS);
const filterLevel = fc.constantFrom(...LEVELS, '+', '+', '#');
// Valid names only (the policy validates first): the empty string is none.
const topicName = fc
  .array(nameLevel, { minLength: 1, maxLength: 4 })
  .map((l) => l.join('/'))
  .filter((t) => t.length > 0);
const filter = fc
  .array(filterLevel, { minLength: 1, maxLength: 4 })
  // `#` only last, as a valid filter has it; an empty filter is not one.
  .map((l) => l.map((x, i) => (x === '#' && i < l.length - 1 ? 'a' : x)).join('/'))
  .filter((f) => f.length > 0);

function both(filters: readonly string[]) {
  const trie = new TopicIndex<number>();
  const shapes = new ShapeIndex<number>();
  filters.forEach((f, i) => {
    trie.add(f, i);
    shapes.add(f, i);
  });
  return { trie, shapes };
}

describe('ShapeIndex', () => {
  it('matches a topic name exactly as the topic trie does, in the same order', () => {
    fc.assert(
      fc.property(fc.array(filter, { maxLength: 30 }), fc.array(topicName, { maxLength: 20 }), (fs, ts) => {
        const { trie, shapes } = both(fs);
        const levels = new TopicLevels();
        for (const t of ts) {
          expect(shapes.matchInto(levels.read(t), []), t).toEqual(trie.matchLevels(t.split('/')));
        }
      }),
      { numRuns: 400 },
    );
  });

  it('gives, for a filter without wildcards, what the trie gives as covering and overlapping filters', () => {
    fc.assert(
      fc.property(fc.array(filter, { maxLength: 30 }), fc.array(topicName, { maxLength: 20 }), (fs, ts) => {
        const { trie, shapes } = both(fs);
        const levels = new TopicLevels();
        for (const t of ts) {
          const found = shapes.matchInto(levels.read(t), []);
          expect(found, t).toEqual(trie.coveringLevels(t.split('/')));
          expect(found, t).toEqual(trie.overlappingLevels(t.split('/')));
        }
      }),
      { numRuns: 300 },
    );
  });

  it('matches as the trie does once past its list, where one table holds every shape’s keys', () => {
    // Over LIST_LIMIT filters the index hashes; shapes with the same literal places (`a/+`, `a/#`,
    // `a/+/#`) give a topic the same key, which must still find only each shape's own filters.
    fc.assert(
      fc.property(
        fc.array(filter, { minLength: ShapeIndex.LIST_LIMIT + 1, maxLength: 80 }),
        fc.array(topicName, { maxLength: 20 }),
        (fs, ts) => {
          const { trie, shapes } = both(fs);
          const levels = new TopicLevels();
          for (const t of ts) {
            expect(shapes.matchInto(levels.read(t), []), t).toEqual(trie.matchLevels(t.split('/')));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps the filters of shapes with equal keys apart, each in the order added', () => {
    const filters = ['a/+', 'a/#', 'a/+/#', 'a', 'a/+', 'a/#'];
    for (let i = 0; i < ShapeIndex.LIST_LIMIT; i++) filters.push(`f${i}/x`);
    const { trie, shapes } = both(filters);
    const levels = new TopicLevels();
    for (const t of ['a/x', 'a', 'a/x/y', 'b/x']) {
      expect(shapes.matchInto(levels.read(t), []), t).toEqual(trie.matchLevels(t.split('/')));
    }
    expect(shapes.matchInto(levels.read('a/x'), [])).toEqual([1, 5, 2, 0, 4]);
  });

  it('keeps `#` and a leading `+` away from `$` topics', () => {
    const { shapes } = both(['#', '+/x', '$s/#', '+']);
    const levels = new TopicLevels();
    expect(shapes.matchInto(levels.read('$s/x'), [])).toEqual([2]);
    expect(shapes.matchInto(levels.read('$s'), [])).toEqual([2]);
    expect(shapes.matchInto(levels.read('s/x'), [])).toEqual([0, 1]);
    expect(shapes.matchInto(levels.read('s'), [])).toEqual([0, 3]);
  });

  it('a level whose hash equals another’s does not match it (hash collisions are confirmed)', () => {
    // Two different levels with one 32-bit hash: every key built from them collides too.
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let i = 0; !pair; i++) {
      const level = `l${i.toString(36)}`;
      const h = levelHash(level, 0, level.length);
      const other = seen.get(h);
      if (other !== undefined) pair = [other, level];
      else seen.set(h, level);
    }
    const [x, y] = pair;
    const { shapes } = both([`t/${x}`, `t/+/${x}`, `t/${x}/#`]);
    const levels = new TopicLevels();
    expect(shapes.matchInto(levels.read(`t/${y}`), [])).toEqual([]);
    expect(shapes.matchInto(levels.read(`t/q/${y}`), [])).toEqual([]);
    expect(shapes.matchInto(levels.read(`t/${y}/z`), [])).toEqual([]);
    expect(shapes.matchInto(levels.read(`t/${x}`), [])).toEqual([2, 0]); // `t/x/#` matches `t/x` too
    expect(shapes.matchInto(levels.read(`t/q/${x}`), [])).toEqual([1]);
    expect(shapes.matchInto(levels.read(`t/${x}/z`), [])).toEqual([2]);
  });

  it('gives the same values in the same order before and after it outgrows its list', () => {
    const filters = ['a/#', 'a/+', '#', 'a/b', '+/b', 'a/b/#', '+/+', 'a/+/#'];
    const small = new ShapeIndex<number>();
    const large = new ShapeIndex<number>();
    for (const [i, f] of filters.entries()) small.add(f, i);
    for (let k = 0; k < ShapeIndex.LIST_LIMIT * 2; k++) {
      for (const [i, f] of filters.entries()) large.add(f, i + 100 * k);
    }
    const levels = new TopicLevels();
    for (const t of ['a/b', 'a', 'x/b', 'a/b/c']) {
      const few = small.matchInto(levels.read(t), []);
      expect(few.length, t).toBeGreaterThan(0);
      // The large index holds each filter 32 times: its first value of each is the small one's.
      expect(
        large.matchInto(levels.read(t), []).filter((v) => v < 100),
        t,
      ).toEqual(few);
    }
  });

  it('finds every filter after its bit array grew (keys marked again)', () => {
    const shapes = new ShapeIndex<number>();
    for (let i = 0; i < 5000; i++) shapes.add(`s${i}/+/x${i % 7}`, i);
    const levels = new TopicLevels();
    for (let i = 0; i < 5000; i++) {
      expect(shapes.matchInto(levels.read(`s${i}/q/x${i % 7}`), [])).toEqual([i]);
    }
  });

  it('looks up more shapes than one pass of its bits takes (30)', () => {
    // Every filter of 1 to 6 levels of `a` and `+`, with and without `#`: 252 filters, each its own shape.
    const filters: string[] = [];
    for (let depth = 1; depth <= 6; depth++) {
      for (let m = 0; m < 1 << depth; m++) {
        const f = Array.from({ length: depth }, (_, i) => ((m >> i) & 1 ? '+' : 'a')).join('/');
        filters.push(f, `${f}/#`);
      }
    }
    const { trie, shapes } = both(filters);
    const levels = new TopicLevels();
    for (const t of ['a/a/a/a/a/a', 'a/b/a/b/a/b', 'a/a/a', 'b', 'a/a/a/a/a/a/a/a']) {
      const found = shapes.matchInto(levels.read(t), []);
      expect(found.length, t).toBeGreaterThan(0);
      expect(found, t).toEqual(trie.matchLevels(t.split('/')));
    }
  });

  it('reads topics deeper than its first hash array', () => {
    const deep = Array.from({ length: 40 }, (_, i) => `l${i}`).join('/');
    const { shapes } = both([deep, `${deep}/#`, 'l0/#']);
    const levels = new TopicLevels();
    expect(shapes.matchInto(levels.read(deep), [])).toEqual([2, 1, 0]);
  });
});
