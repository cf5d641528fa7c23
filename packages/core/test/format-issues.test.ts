import { formatIssues } from '@mqtt-warden/core';
import { describe, expect, it } from 'vitest';

describe('formatIssues', () => {
  it('writes each issue as path: message, joined with "; "', () => {
    const issues = [
      { path: ['password'], message: 'expected string' },
      { path: ['acl', 0, 'topic'], message: 'must not be empty' },
    ];
    expect(formatIssues(issues, 'body')).toBe('password: expected string; acl.0.topic: must not be empty');
  });

  it('names an issue about the whole input with the given word', () => {
    expect(formatIssues([{ path: [], message: 'expected object' }], 'request')).toBe(
      'request: expected object',
    );
  });

  it('does not throw on a symbol in the path', () => {
    expect(formatIssues([{ path: [Symbol('k')], message: 'bad' }], 'body')).toBe('Symbol(k): bad');
  });
});
