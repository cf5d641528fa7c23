import { WardenError } from '@mqtt-warden/core';

/** One mistake in a policy (or policy test suite) file, located as precisely as the source allows. */
export interface PolicyIssue {
  readonly file?: string;
  /** 1-based line, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  /** Where in the document, e.g. `['roles', 'device', 'rules', 0, 'topics', 1]`. */
  readonly path: readonly (string | number)[];
  /** What is wrong and what to write instead. */
  readonly message: string;
}

/** `file:line:column: message`, the form editors and CI logs link to. */
export function formatIssue(issue: PolicyIssue): string {
  const where = [issue.file ?? '<policy>', issue.line, issue.column].filter((p) => p !== undefined).join(':');
  // Keys and values are quoted from the file: control characters are shown escaped, never sent to a terminal.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters to escape
  return `${where}: ${issue.message}`.replace(/[\u0000-\u001f\u007f-\u009f]/g, escapeControl);
}

function escapeControl(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * A policy that cannot be loaded (code `ERR_POLICY_INVALID`). `issues` lists every mistake found,
 * each with file, line and column; the message repeats them one per line.
 *
 * @example
 * ```ts
 * try { await loadPolicy('policy.yaml'); }
 * catch (e) { if (e instanceof PolicyError) for (const i of e.issues) console.error(formatIssue(i)); }
 * ```
 */
export class PolicyError extends WardenError {
  readonly issues: readonly PolicyIssue[];

  constructor(issues: readonly PolicyIssue[], options?: { cause?: unknown; code?: string; what?: string }) {
    const what = options?.what ?? 'policy';
    super(
      options?.code ?? 'ERR_POLICY_INVALID',
      `invalid ${what} (${issues.length} ${issues.length === 1 ? 'error' : 'errors'}):\n${issues
        .map((issue) => `  ${formatIssue(issue)}`)
        .join('\n')}`,
      options,
    );
    this.issues = issues;
  }
}
