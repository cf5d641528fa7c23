import {
  isValidTopicFilter,
  isValidTopicName,
  parseSubscription,
  TopicError,
  validateTopicFilter,
  validateTopicName,
} from '@mqtt-warden/topic';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('validateTopicName', () => {
  it.each(['sport/tennis/player1', '/finance', 'finance/', '/', '//', '$SYS/broker/load', 'ünïcødé/🚀', ' '])(
    'accepts %j',
    (name) => {
      expect(() => validateTopicName(name)).not.toThrow();
      expect(isValidTopicName(name)).toBe(true);
    },
  );

  it.each([
    ['', /empty/],
    ['sport/+/player1', /wildcard "\+"/],
    ['sport/#', /wildcard "#"/],
    ['sport/tennis#', /wildcard "#"/],
    ['a\u0000b', /U\+0000/],
    ['a\ud800b', /lone surrogate/],
  ])('rejects %j with a reason', (name, reason) => {
    expect(() => validateTopicName(name)).toThrow(reason);
    expect(isValidTopicName(name)).toBe(false);
  });

  it('throws TopicError with code ERR_TOPIC_INVALID', () => {
    try {
      validateTopicName('a/+');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TopicError);
      expect((error as TopicError).code).toBe('ERR_TOPIC_INVALID');
    }
  });

  it('limits the UTF-8 length to 65,535 bytes, not the UTF-16 length', () => {
    expect(isValidTopicName('a'.repeat(65_535))).toBe(true);
    expect(isValidTopicName('a'.repeat(65_536))).toBe(false);
    // 'é' is 2 bytes in UTF-8: 32,768 of them are 65,536 bytes although only 32,768 UTF-16 units.
    expect(isValidTopicName('é'.repeat(32_767))).toBe(true);
    expect(isValidTopicName('é'.repeat(32_768))).toBe(false);
    expect(isValidTopicName('€'.repeat(21_845))).toBe(true); // 3 bytes each: 65,535
    expect(isValidTopicName('€'.repeat(21_846))).toBe(false);
  });

  it('rejects non-strings without crashing', () => {
    expect(isValidTopicName(undefined as unknown as string)).toBe(false);
    expect(isValidTopicFilter(42 as unknown as string)).toBe(false);
  });
});

describe('validateTopicFilter', () => {
  // The examples of MQTT 3.1.1 §4.7.1 and 5.0 §4.7.1.
  it.each([
    'sport/tennis/player1/#',
    'sport/#',
    '#',
    'sport/tennis/#',
    '+',
    '+/tennis/#',
    'sport/+/player1',
    '+/+',
    '/+',
    '/#',
    '$SYS/#',
    '$share/group/sport/#',
    '$share/g/+',
    '$queue/jobs/#',
    'a//b',
  ])('accepts %j', (filter) => {
    expect(() => validateTopicFilter(filter)).not.toThrow();
    expect(isValidTopicFilter(filter)).toBe(true);
  });

  it.each([
    ['', /empty/],
    ['sport/tennis#', /whole level/],
    ['sport/tennis/#/ranking', /last level/],
    ['sport+', /whole level/],
    ['sport/+tennis', /whole level/],
    ['#/a', /last level/],
    ['##', /whole level|last level/],
    ['a/\u0000', /U\+0000/],
    ['$share/', /non-empty group/],
    ['$share//a', /non-empty group/],
    ['$share/g', /non-empty filter/],
    ['$share/g/', /non-empty filter/],
    ['$share/g+/a', /must not contain/],
    ['$share/g#/a', /must not contain/],
    ['$share/g/a#', /whole level/],
    ['a'.repeat(65_536), /65535 bytes/],
    ['$queue/', /non-empty filter/],
    // EMQX refuses a shared-subscription prefix inside another (`$queue/` is `$share/$queue/`).
    ['$share/g/$share/t', /nested/],
    ['$share/g/$queue/t', /nested/],
    ['$queue/$share/g/t', /nested/],
    ['$queue/$queue/t', /nested/],
    ['$share/$queue/$queue/t', /nested/],
  ])('rejects %j with a reason', (filter, reason) => {
    expect(() => validateTopicFilter(filter)).toThrow(reason);
    expect(isValidTopicFilter(filter)).toBe(false);
  });
});

describe('parseSubscription', () => {
  it('splits shared subscriptions', () => {
    expect(parseSubscription('sport/#')).toEqual({ filter: 'sport/#' });
    expect(parseSubscription('$share/g1/sport/#')).toEqual({ filter: 'sport/#', shareGroup: 'g1' });
    expect(parseSubscription('$share/g1//a')).toEqual({ filter: '/a', shareGroup: 'g1' });
    expect(parseSubscription('$queue/jobs/+')).toEqual({ filter: 'jobs/+', shareGroup: '$queue' });
  });

  it('agrees with topicFilterProblem: valid filters split, invalid ones throw', () => {
    const level = fc.constantFrom('$share', '$queue', 'g', '', '+', '#', '$s', 'a+', 'g#');
    fc.assert(
      fc.property(fc.array(level, { maxLength: 5 }), fc.boolean(), (levels, slash) => {
        const filter = levels.join('/') + (slash ? '/' : '');
        if (isValidTopicFilter(filter)) expect(() => parseSubscription(filter)).not.toThrow();
        else expect(() => parseSubscription(filter)).toThrow(TopicError);
      }),
      { numRuns: 20_000 },
    );
  });

  it('keeps a plain level named $share or $queue after the group', () => {
    expect(parseSubscription('$share/g/$share')).toEqual({ filter: '$share', shareGroup: 'g' });
    expect(parseSubscription('$queue/$queue')).toEqual({ filter: '$queue', shareGroup: '$queue' });
    expect(parseSubscription('$share/$queue/t')).toEqual({ filter: 't', shareGroup: '$queue' });
  });

  it('rejects invalid shared subscriptions', () => {
    expect(() => parseSubscription('$share/g')).toThrow(TopicError);
    expect(() => parseSubscription('$queue/')).toThrow(/non-empty filter/);
    expect(() => parseSubscription('$share/a+/b')).toThrow(TopicError);
  });
});
