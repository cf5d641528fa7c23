import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileClientIdTemplate } from '../src/client-id-rule.js';
import { policy, principal } from './helpers.js';

const ROLES = [
  'roles:',
  '  device: { rules: [{ effect: allow, actions: publish, topics: "devices/${clientid}/#" }] }',
];

describe('client-id binding (Policy.admit)', () => {
  it('is on by default: a client id must be the proven username or principal id', () => {
    const p = policy('version: 1', 'users: { demo: [device] }', ...ROLES);
    const demo = principal({ id: 'demo', username: 'demo', clientId: 'demo' });
    expect(p.admit(demo)).toMatchObject({ allowed: true, rule: { id: 'clientIds:defaults' } });
    const stolen = p.admit({ ...demo, clientId: 'sensor-1' });
    expect(stolen).toMatchObject({ allowed: false, reason: 'rule', rule: { id: 'clientIds:defaults' } });
    expect(stolen.message).toContain('client id "sensor-1" is not bound to principal "demo"');
    expect(stolen.message).toContain('"demo"');
    // A principal without a username is bound to its id (a certificate DN, a token subject).
    const token = principal({ id: 'sub-7', method: 'jwt', clientId: 'sub-7' });
    expect(p.admit(token).allowed).toBe(true);
    expect(p.admit({ ...token, clientId: 'demo' }).allowed).toBe(false);
  });

  it('never binds by the claimed (unproven) CONNECT username', () => {
    const p = policy('version: 1', ...ROLES);
    const claimed = principal({ id: 'sub-7', method: 'jwt', clientId: 'admin', claimedUsername: 'admin' });
    expect(p.admit(claimed).allowed).toBe(false);
  });

  it('uses defaults.clientIds for principals whose roles say nothing', () => {
    const p = policy('version: 1', 'defaults: { clientIds: "${cert.cn}" }', ...ROLES);
    const device = principal({ id: 'CN=dev-1', clientId: 'dev-1', attributes: { 'cert.cn': 'dev-1' } });
    expect(p.admit(device)).toMatchObject({
      allowed: true,
      rule: { id: 'clientIds:defaults', source: { line: 2 } },
    });
    expect(p.admit({ ...device, clientId: 'CN=dev-1' }).allowed).toBe(false);
  });

  it('per role: templates, prefixes and lists; any of the principal’s roles may admit', () => {
    const p = policy(
      'version: 1',
      'users: { demo: [phone], ops: [phone, console] }',
      'roles:',
      '  phone:',
      '    clientIds: ["${username}", "${username}-phone-*"]',
      '    rules: []',
      '  console:',
      '    clientIds: "console-*"',
      '    rules: []',
    );
    const demo = principal({ username: 'demo', clientId: 'demo' });
    expect(p.admit(demo).allowed).toBe(true);
    expect(p.admit({ ...demo, clientId: 'demo-phone-1' })).toMatchObject({
      allowed: true,
      rule: { id: 'clientIds:role:phone', source: { line: 5 } },
    });
    for (const clientId of ['demo-phone', 'demo-x', 'console-1', 'xdemo', 'xdemo-phone-1']) {
      expect(p.admit({ ...demo, clientId }).allowed, clientId).toBe(false);
    }
    // The role's own rule replaces the default: the principal id alone no longer binds.
    expect(p.admit(principal({ id: 'demo-id', username: 'demo', clientId: 'demo-id' })).allowed).toBe(false);
    const ops = principal({ username: 'ops', clientId: 'console-7' });
    expect(p.admit(ops)).toMatchObject({ allowed: true, rule: { id: 'clientIds:role:console' } });
    expect(p.admit({ ...ops, clientId: 'ops-phone-1' }).allowed).toBe(true);
    const refused = p.admit({ ...ops, clientId: 'demo' });
    expect(refused.message).toContain('"ops" or "ops-phone-*" (role phone at test.yaml:5:');
    expect(refused.message).toContain('"console-*" (role console');
  });

  it('a role without clientIds falls back to the default next to a role with its own rule', () => {
    const p = policy(
      'version: 1',
      'users: { demo: [device, fleet] }',
      'roles:',
      '  device: { rules: [] }',
      '  fleet: { clientIds: "fleet-*", rules: [] }',
    );
    expect(p.admit(principal({ username: 'demo', clientId: 'demo' })).allowed).toBe(true);
    expect(p.admit(principal({ username: 'demo', clientId: 'fleet-1' })).allowed).toBe(true);
    expect(p.admit(principal({ username: 'demo', clientId: 'sensor-1' })).allowed).toBe(false);
  });

  it('opting out is explicit: "*" admits any client id, for that role or policy-wide', () => {
    const perRole = policy(
      'version: 1',
      'users: { dash: [dashboard] }',
      'roles: { dashboard: { clientIds: "*", rules: [] } }',
    );
    expect(perRole.admit(principal({ username: 'dash', clientId: 'mqttjs_1234' })).allowed).toBe(true);
    expect(perRole.admit(principal({ username: 'other', clientId: 'mqttjs_1234' })).allowed).toBe(false);
    const everywhere = policy('version: 1', 'defaults: { clientIds: "*" }', 'roles: {}');
    expect(everywhere.admit(principal({ username: 'x', clientId: 'anything' })).allowed).toBe(true);
  });

  it('a prefix template lets a user take ids that look like another’s (why examples bind exactly)', () => {
    const p = policy('version: 1', 'defaults: { clientIds: "${username}-*" }', 'roles: {}');
    expect(p.admit(principal({ username: 'demo', clientId: 'demo-admin' })).allowed).toBe(true);
  });

  it('placeholder values that are missing, empty or hold + # / or U+0000 never match', () => {
    const p = policy(
      'version: 1',
      'defaults: { clientIds: ["dev-${claims.site}", "${username}"] }',
      'roles: {}',
    );
    const site = (value: string | undefined) =>
      principal({
        id: 'p',
        clientId: `dev-${value ?? ''}`,
        attributes: value === undefined ? {} : { 'claims.site': value },
      });
    expect(p.admit(site('lyon')).allowed).toBe(true);
    for (const value of [undefined, '', 'a/b', '+', '#', 'x\u0000']) {
      expect(p.admit(site(value)).allowed, JSON.stringify(value)).toBe(false);
    }
    // A value is literal: "*" or "." in it are not patterns.
    expect(p.admit(principal({ username: 'd*', clientId: 'dXYZ' })).allowed).toBe(false);
    expect(p.admit(principal({ username: 'd.', clientId: 'dx' })).allowed).toBe(false);
    expect(p.admit(principal({ username: 'd*', clientId: 'd*' })).allowed).toBe(true);
    expect(p.admit(site('lyon')).message).toBeDefined();
    expect(p.admit(site(undefined)).message).toContain('"dev-${claims.site}=?"');
  });

  it('refuses templates that cannot bind: ${clientid}, unknown placeholders, empty', () => {
    expect(() => policy('version: 1', 'defaults: { clientIds: "${clientid}" }', 'roles: {}')).toThrow(
      /would match every client id/,
    );
    expect(() => policy('version: 1', 'defaults: { clientIds: "${user}" }', 'roles: {}')).toThrow(
      /unknown placeholder/,
    );
    expect(() => policy('version: 1', 'roles: { r: { clientIds: "", rules: [] } }')).toThrow(
      /test.yaml:2:26: invalid client-id template/,
    );
  });
});

describe('client-id templates', () => {
  // The reference: the whole template as one anchored pattern, values and literals escaped, `*` as `.*`.
  const quote = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  function reference(template: string, values: Record<string, string>, clientId: string): boolean {
    let pattern = '';
    for (const token of template.split(/(\$\{[^}]*\})/)) {
      const name = /^\$\{([^}]*)\}$/.exec(token)?.[1];
      if (name === undefined) pattern += token.split('*').map(quote).join('.*');
      else pattern += quote(values[name] as string);
    }
    return new RegExp(`^${pattern}$`, 's').test(clientId);
  }

  it('match exactly what the anchored pattern of the filled-in template matches, with or without `*`', () => {
    const text = fc.string({
      unit: fc.constantFrom('a', 'b', '-', '.', '(', '\\', '$', '\n', '*'),
      maxLength: 4,
    });
    const value = fc.string({
      unit: fc.constantFrom('a', 'b', '-', '.', '*', '\n', '?'),
      minLength: 1,
      maxLength: 4,
    });
    const template = fc.array(fc.oneof(text, fc.constantFrom('${username}', '${principal}')), {
      minLength: 1,
      maxLength: 5,
    });
    fc.assert(
      fc.property(template, value, value, fc.array(text, { maxLength: 3 }), (tokens, username, id, fills) => {
        const source = tokens.join('');
        fc.pre(source !== '');
        const compiled = compileClientIdTemplate(source);
        const p = principal({ id, username });
        const values = { username, principal: id };
        // The filled-in template itself (each `*` taking one of the fills), and a few near misses.
        let k = 0;
        const filled = source
          .split(/(\$\{[^}]*\})/)
          .map((t) =>
            t === '${username}'
              ? username
              : t === '${principal}'
                ? id
                : t.replace(/\*/g, () => fills[k++ % Math.max(1, fills.length)] ?? ''),
          )
          .join('');
        for (const clientId of [filled, `${filled}x`, filled.slice(1), `\n${filled}`, `${filled}\n`, '']) {
          expect(
            compiled.matches(p, clientId),
            `${JSON.stringify(source)} vs ${JSON.stringify(clientId)}`,
          ).toBe(reference(source, values, clientId));
        }
      }),
      { numRuns: 2000 },
    );
  });
});
