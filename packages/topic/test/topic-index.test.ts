import { filterCovers, filtersOverlap, matchTopic, TopicError, TopicIndex } from '@mqtt-warden/topic';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterArb, topicArb } from './arbitraries.js';

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

function build(filters: string[]): TopicIndex<number> {
  const index = new TopicIndex<number>();
  for (const [i, f] of filters.entries()) index.add(f, i);
  return index;
}

describe('TopicIndex', () => {
  it('returns the values of matching filters', () => {
    const index = new TopicIndex<string>();
    index.add('devices/+/telemetry', 'tele');
    index.add('devices/#', 'all');
    index.add('#', 'root');
    index.add('$SYS/#', 'sys');
    index.add('devices/d1/telemetry', 'd1');
    expect(index.match('devices/d1/telemetry').sort()).toEqual(['all', 'd1', 'root', 'tele']);
    expect(index.match('devices').sort()).toEqual(['all', 'root']);
    expect(index.match('$SYS/load')).toEqual(['sys']);
    expect(index.covering('devices/d1/#').sort()).toEqual(['all', 'root']);
    expect(index.covering('devices/+/telemetry').sort()).toEqual(['all', 'root', 'tele']);
    expect(index.overlapping('devices/d2/#').sort()).toEqual(['all', 'root', 'tele']);
    expect(index.overlapping('$SYS/+')).toEqual(['sys']);
    expect(index.size).toBe(5);
  });

  it('removes entries and prunes', () => {
    const index = new TopicIndex<string>();
    index.add('a/+/c', 'x');
    index.add('a/+/c', 'y');
    index.add('a/#', 'z');
    expect(index.remove('a/+/c', 'x')).toBe(true);
    expect(index.remove('a/+/c', 'x')).toBe(false);
    expect(index.remove('a/b', 'x')).toBe(false);
    expect(index.match('a/b/c').sort()).toEqual(['y', 'z']);
    expect(index.remove('a/+/c', 'y')).toBe(true);
    expect(index.remove('a/#', 'z')).toBe(true);
    expect(index.size).toBe(0);
    expect(index.match('a/b/c')).toEqual([]);
  });

  it('rejects invalid filters and topics', () => {
    const index = new TopicIndex<number>();
    expect(() => index.add('a/#/b', 1)).toThrow(TopicError);
    expect(() => index.match('a/+')).toThrow(TopicError);
    expect(() => index.covering('')).toThrow(TopicError);
  });

  it('match returns exactly what a linear scan with matchTopic returns', () => {
    fc.assert(
      fc.property(fc.array(filterArb, { maxLength: 40 }), topicArb, (filters, topic) => {
        const expected = filters.flatMap((f, i) => (matchTopic(f, topic) ? [i] : []));
        expect(sorted(build(filters).match(topic))).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  });

  it('covering returns exactly what a linear scan with filterCovers returns', () => {
    fc.assert(
      fc.property(fc.array(filterArb, { maxLength: 40 }), filterArb, (filters, sub) => {
        const expected = filters.flatMap((f, i) => (filterCovers(f, sub) ? [i] : []));
        expect(sorted(build(filters).covering(sub))).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  });

  it('overlapping returns exactly what a linear scan with filtersOverlap returns', () => {
    fc.assert(
      fc.property(fc.array(filterArb, { maxLength: 40 }), filterArb, (filters, sub) => {
        const expected = filters.flatMap((f, i) => (filtersOverlap(f, sub) ? [i] : []));
        expect(sorted(build(filters).overlapping(sub))).toEqual(expected);
      }),
      { numRuns: 3_000 },
    );
  });

  it('stays equal to a linear scan through interleaved adds and removes', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), filter: filterArb, value: fc.nat(5) }),
      fc.record({ kind: fc.constant('remove' as const), filter: filterArb, value: fc.nat(5) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), topicArb, (ops, topic) => {
        const index = new TopicIndex<number>();
        const model: [string, number][] = [];
        for (const o of ops) {
          if (o.kind === 'add') {
            index.add(o.filter, o.value);
            model.push([o.filter, o.value]);
          } else {
            const at = model.findIndex(([f, v]) => f === o.filter && v === o.value);
            expect(index.remove(o.filter, o.value)).toBe(at !== -1);
            if (at !== -1) model.splice(at, 1);
          }
        }
        expect(index.size).toBe(model.length);
        const expected = model.filter(([f]) => matchTopic(f, topic)).map(([, v]) => v);
        expect(sorted(index.match(topic))).toEqual(sorted(expected));
      }),
      { numRuns: 2_000 },
    );
  });
});
