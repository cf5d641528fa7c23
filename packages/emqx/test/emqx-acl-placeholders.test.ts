import type { Principal, PrincipalRule } from '@mqtt-warden/core';
import { toEmqxAcl } from '@mqtt-warden/emqx';
import { describe, expect, it } from 'vitest';

// Property: no wildcard injection through client id / username into the ACL handed to EMQX, which
// EMQX then applies itself without asking the policy. Values are judged as the policy judges them
// (ARCHITECTURE.md semantics 4), plus EMQX's own readings of "eq " and "${…}".

const rules: PrincipalRule[] = [
  { effect: 'deny', actions: ['publish'], topics: ['${clientid}/secret'] },
  { effect: 'allow', actions: ['publish'], topics: ['${clientid}/#', 'up/${username}'] },
];

function principal(clientId: string, username?: string): Principal {
  return { id: 'p', clientId, username, method: 'jwt', roles: [], attributes: {}, rules };
}

describe('toEmqxAcl placeholder values', () => {
  it.each([
    ['$SYS', 'a leading $ would make a $ topic'],
    ['eq ', 'EMQX would read "eq " as its literal-match marker'],
    ['${username}', 'EMQX would substitute the value again'],
    ['+', 'a wildcard'],
    ['#', 'a wildcard'],
    ['a/b', 'a level separator'],
    ['', 'empty'],
  ])('client id %j (%s) exports no allow and denies everything it would have denied', (clientId) => {
    const acl = toEmqxAcl(principal(clientId, '#'), 'all');
    expect(acl).toEqual([{ permission: 'deny', action: 'publish', topics: ['#'] }]);
  });

  it('renders ordinary values', () => {
    expect(toEmqxAcl(principal('dev1', 'alice'), 'all')).toEqual([
      { permission: 'deny', action: 'publish', topics: ['dev1/secret'] },
      { permission: 'allow', action: 'publish', topics: ['dev1/#', 'up/alice'] },
    ]);
  });

  it('drops only the allow whose value is unsafe', () => {
    for (const clientId of ['$SYS', 'eq ', '${username}']) {
      const allowed = toEmqxAcl(principal(clientId, 'alice'), 'all')
        .filter((r) => r.permission === 'allow')
        .flatMap((r) => r.topics);
      expect(allowed).toEqual(['up/alice']);
    }
  });
});
