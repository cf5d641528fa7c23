/** A validation problem as zod (or any schema library) reports it: where in the input, and what. */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * One line for a 4xx reply or error message: each issue as `path: message`, separated by `; `.
 * An issue about the input as a whole is named `whole` (e.g. `body`, `request`).
 *
 * @example
 * ```ts
 * const result = schema.safeParse(request.body);
 * if (!result.success) reply.code(400).send({ error: 'ERR_INVALID_INPUT', message: formatIssues(result.error.issues, 'body') });
 * // 'password: Invalid input: expected string, received undefined; acc: must be 1 (read), …'
 * ```
 */
export function formatIssues(issues: readonly Issue[], whole: string): string {
  return issues.map((issue) => `${issue.path.map(String).join('.') || whole}: ${issue.message}`).join('; ');
}
