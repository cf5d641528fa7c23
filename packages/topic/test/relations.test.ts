import { filterCovers, filtersOverlap, matchTopic, TopicError } from '@mqtt-warden/topic';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { filterArb, MAX_DEPTH, topicArb, UNIVERSE_ALPHABET } from './arbitraries.js';
import { allTopics, refCovers, refMatch, refOverlap } from './reference.js';

const universe = allTopics(UNIVERSE_ALPHABET, MAX_DEPTH + 1);

describe('matchTopic', () => {
  // MQTT 3.1.1 §4.7.1.2-3 and §4.7.2 examples, plus ARCHITECTURE.md semantics 1.
  it.each([
    ['sport/tennis/player1/#', 'sport/tennis/player1', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/ranking', true],
    ['sport/tennis/player1/#', 'sport/tennis/player1/score/wimbledon', true],
    ['sport/#', 'sport', true],
    ['#', 'sport/tennis', true],
    ['sport/tennis/+', 'sport/tennis/player1', true],
    ['sport/tennis/+', 'sport/tennis/player1/ranking', false],
    ['sport/+', 'sport', false],
    ['sport/+', 'sport/', true],
    ['+/+', '/finance', true],
    ['/+', '/finance', true],
    ['+', '/finance', false],
    ['+', 'finance', true],
    ['a/+/c', 'a//c', true],
    ['#', '$SYS/broker', false],
    ['+/monitor/Clients', '$SYS/monitor/Clients', false],
    ['$SYS/#', '$SYS/monitor/Clients', true],
    ['$SYS/monitor/+', '$SYS/monitor/Clients', true],
    ['a/$b/#', 'a/$b/c', true],
    ['+/$b', 'a/$b', true],
    ['$share/g/sport/#', 'sport/x', true],
    ['sport', 'Sport', false],
    ['sport/tennis', 'sport/tennis/', false],
    ['a/b', 'a', false],
  ])('%j ~ %j → %s', (filter, topic, expected) => {
    expect(matchTopic(filter, topic)).toBe(expected);
  });

  it('throws TopicError for an invalid filter or topic', () => {
    expect(() => matchTopic('a/#/b', 'a')).toThrow(TopicError);
    expect(() => matchTopic('a/#', 'a/+')).toThrow(TopicError);
    expect(() => matchTopic('', 'a')).toThrow(TopicError);
    expect(() => matchTopic('a', '')).toThrow(TopicError);
  });

  it('agrees with the reference on random filters and topics', () => {
    fc.assert(
      fc.property(
        filterArb,
        topicArb,
        (filter, topic) => matchTopic(filter, topic) === refMatch(filter, topic),
      ),
      { numRuns: 20_000 },
    );
  });
});

describe('filterCovers', () => {
  it.each([
    ['a/#', 'a/+/c', true],
    ['a/#', 'a', true],
    ['a/#', 'a/#', true],
    ['a/+', 'a/#', false],
    ['+', '#', false],
    ['#', '#', true],
    ['#', '+/x', true],
    ['#', '$SYS/x', false],
    ['+/x', '$SYS/x', false],
    ['$SYS/#', '$SYS/x', true],
    ['a/+/c', 'a/b/c', true],
    ['a/b/c', 'a/+/c', false],
    ['a/+', 'a/+', true],
    ['a', 'a/#', false],
    ['+/+', '+', false],
    ['$share/g/a/#', '$share/h/a/b', true],
  ])('%j covers %j → %s', (outer, inner, expected) => {
    expect(filterCovers(outer, inner)).toBe(expected);
  });

  it('throws TopicError for invalid filters', () => {
    expect(() => filterCovers('a/#/b', 'a')).toThrow(TopicError);
  });

  it('agrees with the brute-force reference', () => {
    fc.assert(
      fc.property(
        filterArb,
        filterArb,
        (outer, inner) => filterCovers(outer, inner) === refCovers(outer, inner, universe),
      ),
      { numRuns: 3_000 },
    );
  });
});

describe('filtersOverlap', () => {
  it.each([
    ['a/+/c', 'a/b/#', true],
    ['#', '$SYS/x', false],
    ['+/#', '$SYS/#', false],
    ['$SYS/#', '$SYS/+', true],
    ['a/b', 'a/c', false],
    ['a', 'a/#', true],
    ['a/+', 'a', false],
    ['+', '#', true],
    ['+/+', '+', false],
    ['a/b/c', 'a/b/c', true],
  ])('%j overlaps %j → %s', (a, b, expected) => {
    expect(filtersOverlap(a, b)).toBe(expected);
    expect(filtersOverlap(b, a)).toBe(expected);
  });

  it('agrees with the brute-force reference', () => {
    fc.assert(
      fc.property(filterArb, filterArb, (a, b) => filtersOverlap(a, b) === refOverlap(a, b, universe)),
      { numRuns: 3_000 },
    );
  });
});
