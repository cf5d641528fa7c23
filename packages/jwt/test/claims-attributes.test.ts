import { claimsToPrincipal } from '@mqtt-warden/jwt';
import { afterEach, describe, expect, it } from 'vitest';
import { withPassword } from './connect-request.js';

// Property: attributes come from the token's own claims only. If something in the process polluted
// Object.prototype, that member must not become a `claims.*` attribute a policy could match on.

describe('claimsToPrincipal attributes', () => {
  afterEach(() => {
    delete (Object.prototype as Record<string, unknown>).role;
  });

  it('takes own claims only, never an inherited (polluted) member', () => {
    (Object.prototype as Record<string, unknown>).role = 'admin';
    const payload = JSON.parse('{"sub":"device-1","site":"lyon","n":3,"tags":["a",1,true],"nested":{"x":1}}');
    const principal = claimsToPrincipal(payload, withPassword('t'), 'jwt');
    expect(principal.attributes).toEqual({
      'claims.sub': 'device-1',
      'claims.site': 'lyon',
      'claims.n': '3',
      'claims.tags': ['a', '1', 'true'],
    });
    expect(Object.keys(principal.attributes)).not.toContain('claims.role');
  });

  it('keeps every claim name, however many distinct names tokens carry', () => {
    for (let i = 0; i < 600; i++) {
      const name = `c${i}${'x'.repeat(i % 80)}`;
      const principal = claimsToPrincipal({ sub: 's', [name]: i }, withPassword('t'), 'jwt');
      expect(principal.attributes[`claims.${name}`]).toBe(String(i));
    }
  });
});
