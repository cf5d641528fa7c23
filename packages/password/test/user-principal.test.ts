import { userPrincipal } from '@mqtt-warden/password';
import { describe, expect, it } from 'vitest';

describe('userPrincipal', () => {
  it('takes identity, roles, groups, attributes and superuser from the entry and the rest from the connection', () => {
    const principal = userPrincipal(
      {
        username: 'dev1',
        hash: '$2b$04$abcdefghijklmnopqrstuu9rq2dZ3XvTWW0m6n1JbOnCdX3kRzJ6e',
        roles: ['device'],
        groups: ['site-a'],
        attributes: { site: 'a' },
        superuser: true,
      },
      { clientId: 'c1', remoteAddress: '192.0.2.1', tls: true },
    );
    expect(principal).toEqual({
      id: 'dev1',
      clientId: 'c1',
      username: 'dev1',
      method: 'password',
      roles: ['device'],
      groups: ['site-a'],
      attributes: { site: 'a' },
      superuser: true,
      remoteAddress: '192.0.2.1',
      tls: true,
    });
  });

  it('gives an entry without roles or attributes empty ones, and never makes it a superuser', () => {
    const principal = userPrincipal({ username: 'dev2', hash: 'x' }, { clientId: 'c2' });
    expect(principal.roles).toEqual([]);
    expect(principal.attributes).toEqual({});
    expect(principal.superuser).toBe(false);
    expect(principal.tls).toBeUndefined();
  });
});
