import { describe, expect, it } from 'vitest';
import { type ErlangTerm, MigrationError, parseErlangTerms } from '../src/index.js';

/** A term without positions, for comparing shapes. */
function plain(term: ErlangTerm): unknown {
  if (term.kind === 'tuple') return { tuple: term.items.map(plain) };
  if (term.kind === 'list') return term.items.map(plain);
  return term.kind === 'atom' ? { atom: term.value } : term.value;
}

function errorOf(text: string): MigrationError {
  try {
    parseErlangTerms(text, 'acl.conf');
  } catch (error) {
    expect(error).toBeInstanceOf(MigrationError);
    return error as MigrationError;
  }
  throw new Error('expected a MigrationError');
}

describe('parseErlangTerms', () => {
  it('reads tuples, lists, bare and quoted atoms, strings, integers, and skips % comments', () => {
    const forms = parseErlangTerms(
      [
        '%% comment line',
        '{allow, {\'and\', [{user, "a"}, {ipaddr, "10.0.0.0/8"}]}, % trailing comment',
        '  {publish, [{qos, [1, 2]}]}, ["t/#", {eq, "x"}]}.',
        "{deny, all}. {'odd atom', -3, []}.",
      ].join('\n'),
      'acl.conf',
    );
    expect(forms.map((f) => plain(f.term))).toEqual([
      {
        tuple: [
          { atom: 'allow' },
          {
            tuple: [
              { atom: 'and' },
              [{ tuple: [{ atom: 'user' }, 'a'] }, { tuple: [{ atom: 'ipaddr' }, '10.0.0.0/8'] }],
            ],
          },
          { tuple: [{ atom: 'publish' }, [{ tuple: [{ atom: 'qos' }, [1, 2]] }]] },
          ['t/#', { tuple: [{ atom: 'eq' }, 'x'] }],
        ],
      },
      { tuple: [{ atom: 'deny' }, { atom: 'all' }] },
      { tuple: [{ atom: 'odd atom' }, -3, []] },
    ]);
    expect(forms[0]!.term).toMatchObject({ line: 2, column: 1 });
    expect(forms[2]!.term).toMatchObject({ line: 4, column: 14 });
    expect(forms[1]!.text).toBe('{deny, all}.');
  });

  it('decodes Erlang escapes and joins adjacent strings', () => {
    const [form] = parseErlangTerms(
      String.raw`["a\"b\\c", "\n\t\s\e", "\101\x42\x{1F600}", "\^A", "con" "cat", 'it\'s'].`,
      'f',
    );
    expect(plain(form!.term)).toEqual(['a"b\\c', '\n\t \x1b', 'AB😀', '\x01', 'concat', { atom: "it's" }]);
  });

  it('locates errors at file:line:column', () => {
    expect(errorOf('{allow, all}.\n  {deny, all').message).toMatch(/^acl\.conf:2:13: expected "," or "}"/);
    expect(errorOf('{allow, Who, all, []}.').message).toMatch(/^acl\.conf:1:9: "Who" is an Erlang variable/);
    expect(errorOf('{allow, and}.').message).toMatch(/^acl\.conf:1:9: "and" is an Erlang operator.*'and'/);
    expect(errorOf('{allow, all}\n{deny, all}.').message).toMatch(
      /^acl\.conf:2:1: expected "\." after the term/,
    );
    expect(errorOf('["abc].').message).toMatch(/^acl\.conf:1:2: unterminated string/);
    expect(errorOf('[<<"a">>].').message).toMatch(/^acl\.conf:1:2: unexpected character "<"/);
    expect(errorOf('[1.5].').message).toMatch(/^acl\.conf:1:2: only integers/);
    expect(errorOf('["\\x{zz}"].').message).toMatch(/^acl\.conf:1:3: invalid \\x escape/);
    expect(errorOf('{a}.b').code).toBe('ERR_MIGRATION_INPUT');
    // Deep nesting is refused with a location, never a stack overflow.
    expect(errorOf(`${'['.repeat(100_000)}].`).message).toMatch(
      /^acl\.conf:1:65: terms nested deeper than 64/,
    );
  });

  it('an empty file or one with comments only has no forms', () => {
    expect(parseErlangTerms('', 'f')).toEqual([]);
    expect(parseErlangTerms('%% nothing\n% here\n', 'f')).toEqual([]);
  });
});
