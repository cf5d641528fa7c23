import { compileTopicTemplate, filterCovers, isValidTopicFilter, TopicError } from '@mqtt-warden/topic';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const values =
  (record: Record<string, string>) =>
  (name: string): string | undefined =>
    record[name];

describe('compileTopicTemplate', () => {
  it('renders placeholders as whole or partial levels', () => {
    const t = compileTopicTemplate('devices/${clientid}/#');
    expect(t.placeholders).toEqual(['clientid']);
    expect(t.isStatic).toBe(false);
    expect(t.render(values({ clientid: 'd1' }))).toBe('devices/d1/#');
    const u = compileTopicTemplate('t/${claims.site}-${cert.cn}/+');
    expect(u.placeholders).toEqual(['claims.site', 'cert.cn']);
    expect(u.render(values({ 'claims.site': 'paris', 'cert.cn': 'dev 7' }))).toBe('t/paris-dev 7/+');
  });

  it('static templates render to themselves', () => {
    const t = compileTopicTemplate('a/+/c');
    expect(t.isStatic).toBe(true);
    expect(t.render(() => undefined)).toBe('a/+/c');
  });

  it.each([['#'], ['+'], ['a/b'], ['/'], [''], ['a\u0000'], ['x#'], ['\ud800']])(
    'yields no topic for the unsafe value %j',
    (bad) => {
      const t = compileTopicTemplate('devices/${clientid}/data');
      expect(t.render(values({ clientid: bad }))).toBeUndefined();
    },
  );

  it('yields no topic for a missing value', () => {
    expect(compileTopicTemplate('d/${username}').render(() => undefined)).toBeUndefined();
  });

  it('refuses a value that would turn the topic into a $ topic', () => {
    const t = compileTopicTemplate('${clientid}/data');
    expect(t.render(values({ clientid: '$SYS' }))).toBeUndefined();
    expect(compileTopicTemplate('x/${clientid}').render(values({ clientid: '$a' }))).toBe('x/$a');
  });

  it.each([
    ['devices/${clientid'],
    ['devices/${}/x'],
    ['devices/${1abc}/x'],
    ['devices/${a b}/x'],
    ['devices/#/${clientid}'],
    ['devices/${clientid}#'],
    ['+${clientid}'],
    [''],
  ])('rejects the template %j', (template) => {
    expect(() => compileTopicTemplate(template)).toThrow(TopicError);
  });

  it('never renders a filter wider than the template with its placeholder as a fixed level', () => {
    const t = compileTopicTemplate('tenants/${claims.tenant}/devices/${clientid}/#');
    fc.assert(
      fc.property(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), (tenant, id) => {
        const out = t.render(values({ 'claims.tenant': tenant, clientid: id }));
        if (out === undefined) return;
        expect(isValidTopicFilter(out)).toBe(true);
        // The rendered filter is covered by the template with `+` in place of each placeholder,
        // and its placeholder levels are literal: it covers nothing outside its own tenant and device.
        expect(filterCovers('tenants/+/devices/+/#', out)).toBe(true);
        expect(out.split('/')).toHaveLength(5);
      }),
      { numRuns: 5_000 },
    );
  });
});
