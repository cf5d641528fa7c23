/**
 * parseYaml reads plain documents in one js-yaml pass and everything else with the `yaml` package. The
 * two must agree: same values (YAML 1.2 core schema) and same line:column for every node. A comment
 * that looks like an anchor (`# &slow`) sends the same text down the `yaml` path for comparison.
 */
import { readFileSync } from 'node:fs';
import { type PolicyIssue, parsePolicy, parseYaml } from '@mqtt-warden/policy';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadYamlFast } from '../src/load-yaml-fast.js';

const schema = z.unknown();
const slow = (text: string) => parseYaml(`${text}\n# &slow`, { schema });

function paths(value: unknown, path: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(path);
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      paths(item, [...path, Array.isArray(value) ? Number(key) : key], out);
    }
  }
  return out;
}

const documents = {
  quickstart: readFileSync(new URL('../../server/quickstart/policy.yaml', import.meta.url), 'utf8'),
  'block and flow styles': [
    '# leading comment',
    '---',
    'version: 1 # trailing comment',
    'defaults:',
    '  clientIds:',
    '    - "${username}"',
    '    - x',
    'roles: {r: {rules: [{effect: allow, actions: all, topics: x}]}}',
    'users:',
    '  1: [a]',
    '  "b c":',
    '   - r',
    'empty:',
    'last: ~',
  ].join('\n'),
  json: JSON.stringify(
    { version: 1, roles: { r: { rules: [{ effect: 'allow', actions: ['publish'], topics: 'a/#' }] } } },
    null,
    2,
  ),
  'compact json': '{"version":1,"users":{"u":["r"]},"roles":{"r":{"rules":[]}}}',
  scalars: [
    'a: 0o17',
    'b: 0x1F',
    'c: 1_000',
    'd: 0b1',
    'e: .5',
    'f: -.inf',
    'g: yes',
    'h: no',
    'i: on',
    'j: "true"',
    'k: 2026-01-01',
    'l: |',
    '  block',
    '  text',
    'm: >-',
    '  folded',
    'n: [ {x: 1}, [2], +3, 1e3, .NaN, True, NULL ]',
    "o: 'single # not a comment'",
  ].join('\n'),
};

describe('the fast YAML path', () => {
  for (const [name, text] of Object.entries(documents)) {
    it(`reads ${name} with the values and positions of the yaml package`, () => {
      expect(loadYamlFast(text)).toBeDefined();
      expect(loadYamlFast(`${text}\n# &slow`)).toBeUndefined();
      const fast = parseYaml(text, { schema });
      const reference = slow(text);
      expect(fast.value).toEqual(reference.value);
      const all = paths(reference.value);
      expect(all.length).toBeGreaterThan(3);
      for (const path of all) expect([path, fast.locate(path)]).toEqual([path, reference.locate(path)]);
    });
  }

  it('keeps YAML 1.2 core scalars: yes/no/on stay strings, 0o and 0x are numbers, 1_000 and 0b1 are not', () => {
    expect(parseYaml(documents.scalars, { schema }).value).toMatchObject({
      a: 15,
      b: 31,
      c: '1_000',
      d: '0b1',
      e: 0.5,
      f: -Infinity,
      g: 'yes',
      h: 'no',
      i: 'on',
      j: 'true',
      k: '2026-01-01',
      n: [{ x: 1 }, [2], 3, 1000, Number.NaN, true, null],
      o: 'single # not a comment',
    });
  });

  it('leaves a %YAML 1.1 directive to the yaml package (whose 1.1 schema reads yes as true)', () => {
    const text = '%YAML 1.1\n---\na: yes\n';
    expect(loadYamlFast(text)).toBeUndefined();
    expect(parseYaml(text, { schema }).value).toEqual(slow(text).value);
  });

  it('gives rules the same source line either way', () => {
    const text = documents.quickstart;
    const principal = {
      id: 'demo',
      username: 'demo',
      clientId: 'demo',
      method: 'password',
      roles: [],
      attributes: {},
    };
    const explain = (source: string) =>
      parsePolicy(source, { file: 'p.yaml' }).explain(principal, {
        action: 'publish',
        topic: 'devices/demo/x',
      });
    expect(JSON.stringify(explain(text))).toBe(JSON.stringify(explain(`${text}\n# &slow`)));
    expect(JSON.stringify(explain(text))).toMatch(/"line":\d+/);
  });

  it('still refuses duplicate keys, in YAML and JSON, at the second key', () => {
    const issues = (text: string): PolicyIssue[] => {
      try {
        parsePolicy(text, { file: 'p' });
      } catch (error) {
        return [...(error as { issues: PolicyIssue[] }).issues];
      }
      return [];
    };
    expect(issues('version: 1\nroles: {}\nroles: {}\n')).toMatchObject([{ line: 3, column: 1 }]);
    expect(issues('{"version": 1, "roles": {}, "roles": {}}')).toMatchObject([{ line: 1, column: 29 }]);
  });
});
