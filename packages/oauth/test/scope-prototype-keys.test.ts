import { describe, expect, it } from 'vitest';
import { scopeGrants } from '../src/index.js';

// Property: no wildcard injection through token scopes. A scope verb that names an Object.prototype
// member must be refused like any unknown verb, not turned into a rule on "#".

describe('scopeGrants with prototype-named verbs', () => {
  it.each(['constructor', '__proto__', 'toString', 'valueOf'])('refuses mqtt:%s:#', (verb) => {
    expect(() => scopeGrants([`mqtt:${verb}:#`])).toThrow(
      expect.objectContaining({ code: 'ERR_TOKEN_ACL', message: expect.stringContaining('VERB one of') }),
    );
  });
});
