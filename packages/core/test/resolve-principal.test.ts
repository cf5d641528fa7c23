import { describe, expect, it } from 'vitest';
import { type Principal, resolvePrincipal } from '../src/index.js';

const PRINCIPAL: Principal = {
  id: 'd',
  username: 'd',
  clientId: 'c',
  method: 'password',
  roles: [],
  attributes: {},
};
const resolverOf = (answer: unknown) => ({ resolve: () => answer as Principal });

describe('resolvePrincipal', () => {
  it('passes a principal, undefined and a native promise through as they are', () => {
    const native = Promise.resolve(PRINCIPAL);
    expect(resolvePrincipal(resolverOf(PRINCIPAL), {})).toBe(PRINCIPAL);
    expect(resolvePrincipal(resolverOf(undefined), {})).toBeUndefined();
    expect(resolvePrincipal(resolverOf(native), {})).toBe(native);
  });

  it('makes a thenable of another library a native promise of its value', async () => {
    const found = resolvePrincipal(
      // biome-ignore lint/suspicious/noThenProperty: a promise of another library is the point
      resolverOf({ then: (resolve: (p: Principal) => void) => resolve(PRINCIPAL) }),
      {},
    );
    expect(found).toBeInstanceOf(Promise);
    expect(await found).toBe(PRINCIPAL);
  });

  it('lets a throwing resolver throw', () => {
    const resolver = {
      resolve: () => {
        throw new Error('down');
      },
    };
    expect(() => resolvePrincipal(resolver, {})).toThrow('down');
  });
});
